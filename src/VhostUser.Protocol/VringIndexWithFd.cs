// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// The u64 payload of <c>SET_VRING_KICK</c>, <c>SET_VRING_CALL</c> and <c>SET_VRING_ERR</c>: bits 0-7
/// are the ring index; bit 8 (<c>VHOST_USER_VRING_NOFD_MASK</c>) says no fd is attached (poll
/// instead). Other bits are reserved.
/// </summary>
/// <param name="Value">The raw u64.</param>
public readonly record struct VringIndexWithFd(ulong Value)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 8;

    /// <summary><c>VHOST_USER_VRING_IDX_MASK</c>.</summary>
    public const ulong IndexMask = 0xff;

    /// <summary><c>VHOST_USER_VRING_NOFD_MASK</c>.</summary>
    public const ulong NoFdFlag = 0x100;

    /// <summary>The ring index.</summary>
    public uint Index => (uint)(Value & IndexMask);

    /// <summary>Whether the message carries no fd (the no-fd bit is set).</summary>
    public bool NoFd => (Value & NoFdFlag) != 0;

    /// <summary>Builds the payload for ring <paramref name="index"/>, with or without an fd.</summary>
    public static VringIndexWithFd Create(uint index, bool hasFd)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, (uint)IndexMask);
        return new VringIndexWithFd(index | (hasFd ? 0 : NoFdFlag));
    }

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VringIndexWithFd Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new VringIndexWithFd(BinaryPrimitives.ReadUInt64LittleEndian(source));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Value);
    }

    /// <summary>Whether only the index and no-fd bits are used.</summary>
    public bool IsValid() => (Value & ~(IndexMask | NoFdFlag)) == 0;
}
