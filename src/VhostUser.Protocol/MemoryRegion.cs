// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// One memory region (<c>VhostUserMemoryRegion</c>), 32 bytes: where it sits in guest physical
/// space, its size, its address in the front end, and its offset in the fd that comes with it.
/// </summary>
/// <param name="GuestPhysAddr">Guest physical address of the first byte.</param>
/// <param name="MemorySize">Size in bytes.</param>
/// <param name="UserAddr">The front end's virtual address of the first byte.</param>
/// <param name="MmapOffset">Offset of the first byte in the region's fd.</param>
public readonly record struct MemoryRegion(ulong GuestPhysAddr, ulong MemorySize, ulong UserAddr, ulong MmapOffset)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 32;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static MemoryRegion Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new MemoryRegion(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[24..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, GuestPhysAddr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], MemorySize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UserAddr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], MmapOffset);
    }

    /// <summary>
    /// Whether the region is non-empty and none of its three ranges (guest, user, file) wraps
    /// around 2^64, so end-address arithmetic on it can never overflow.
    /// </summary>
    public bool IsValid() =>
        MemorySize != 0
        && GuestPhysAddr <= ulong.MaxValue - (MemorySize - 1)
        && UserAddr <= ulong.MaxValue - (MemorySize - 1)
        && MmapOffset <= ulong.MaxValue - (MemorySize - 1)
        && MmapOffset <= long.MaxValue;
}
