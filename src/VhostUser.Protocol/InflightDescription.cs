// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// "Inflight description" (<c>VhostUserInflight</c>) of <c>GET_INFLIGHT_FD</c>/<c>SET_INFLIGHT_FD</c>.
/// The C struct is u64, u64, u16, u16 and is padded to 24 bytes, which is what QEMU and
/// libvhost-user put on the wire.
/// </summary>
/// <param name="MmapSize">Size of the shared inflight area.</param>
/// <param name="MmapOffset">Offset of the area in the fd.</param>
/// <param name="NumQueues">Number of queues tracked.</param>
/// <param name="QueueSize">Size of each queue.</param>
public readonly record struct InflightDescription(ulong MmapSize, ulong MmapOffset, ushort NumQueues, ushort QueueSize)
{
    /// <summary>Encoded size in bytes (including the 4 trailing padding bytes).</summary>
    public const int Size = 24;

    /// <summary>The fields alone without the trailing padding; some senders use it.</summary>
    public const int UnpaddedSize = 20;

    /// <summary>Decodes the first <see cref="UnpaddedSize"/> bytes of <paramref name="source"/>.</summary>
    public static InflightDescription Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, UnpaddedSize, nameof(source));
        return new InflightDescription(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[16..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[18..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/> (zero padding).</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, MmapSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], MmapOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[16..], NumQueues);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[18..], QueueSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], 0);
    }

    /// <summary>
    /// Whether there is at least one queue of non-zero size and the area's range does not wrap
    /// (the request form of <c>GET_INFLIGHT_FD</c> has zero size and offset, which is valid).
    /// </summary>
    public bool IsValid() =>
        NumQueues != 0
        && QueueSize != 0
        && MmapOffset <= long.MaxValue
        && MmapSize <= ulong.MaxValue - MmapOffset;
}
