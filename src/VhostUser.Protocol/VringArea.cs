// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// "Vring area description" (<c>VhostUserVringArea</c>) of the back-end request
/// <c>VRING_HOST_NOTIFIER_MSG</c>: ring index and no-fd bit (as in <see cref="VringIndexWithFd"/>),
/// then size and offset of the area in the attached fd.
/// </summary>
/// <param name="IndexAndFlags">Ring index in bits 0-7, no-fd flag in bit 8.</param>
/// <param name="AreaSize">Size of the area.</param>
/// <param name="AreaOffset">Offset of the area in the fd.</param>
public readonly record struct VringArea(ulong IndexAndFlags, ulong AreaSize, ulong AreaOffset)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 24;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VringArea Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new VringArea(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[16..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, IndexAndFlags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], AreaSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], AreaOffset);
    }

    /// <summary>Whether only the index and no-fd bits are used in the first word.</summary>
    public bool IsValid() => new VringIndexWithFd(IndexAndFlags).IsValid();
}
