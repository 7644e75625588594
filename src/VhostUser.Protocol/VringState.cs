// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// "Vring state description" (<c>struct vhost_vring_state</c>): a ring index and a number whose
/// meaning depends on the request (size, base, enable flag, endianness).
/// </summary>
/// <param name="Index">The ring index.</param>
/// <param name="Num">The number.</param>
public readonly record struct VringState(uint Index, uint Num)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 8;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VringState Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new VringState(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Num);
    }

    /// <summary>
    /// Whether the index fits the 8 bits the protocol reserves for it (the queue count is the
    /// device's to check).
    /// </summary>
    public bool IsValid() => Index <= VringIndexWithFd.IndexMask;
}
