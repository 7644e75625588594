// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// "Vring address description" (<c>struct vhost_vring_addr</c>), 40 bytes. The three ring addresses
/// are front-end virtual addresses (or IOVAs under <c>VIRTIO_F_IOMMU_PLATFORM</c>); note the wire
/// order: descriptor, used, available, log.
/// </summary>
/// <param name="Index">The ring index.</param>
/// <param name="Flags">Ring flags; only <see cref="LogFlag"/> is defined.</param>
/// <param name="DescUserAddr">Descriptor table address.</param>
/// <param name="UsedUserAddr">Used ring address.</param>
/// <param name="AvailUserAddr">Available ring address.</param>
/// <param name="LogGuestAddr">Guest physical address of the used ring, for dirty logging.</param>
public readonly record struct VringAddress(
    uint Index,
    uint Flags,
    ulong DescUserAddr,
    ulong UsedUserAddr,
    ulong AvailUserAddr,
    ulong LogGuestAddr)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 40;

    /// <summary><c>VHOST_VRING_F_LOG</c>: log writes to the used ring.</summary>
    public const uint LogFlag = 0x1;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VringAddress Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new VringAddress(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[32..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], DescUserAddr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UsedUserAddr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], AvailUserAddr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], LogGuestAddr);
    }

    /// <summary>
    /// Whether the index fits 8 bits, no unknown flag is set, and the rings have the split-ring
    /// alignment of virtio 1.x §2.7 (descriptors 16, available 2, used 4 bytes).
    /// </summary>
    public bool IsValid() =>
        Index <= VringIndexWithFd.IndexMask
        && (Flags & ~LogFlag) == 0
        && (DescUserAddr & 15) == 0
        && (AvailUserAddr & 1) == 0
        && (UsedUserAddr & 3) == 0;
}
