// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// The split virtqueue layout (virtio 1.x §2.7): descriptor flags, ring flags, alignments and the
/// offsets and sizes of the three areas for a queue of a given size.
/// </summary>
public static class SplitRing
{
    /// <summary>The largest split queue size (§2.7: "Queue Size ... maximum 32768").</summary>
    public const int MaxSize = 32768;

    /// <summary>The size of one descriptor (<c>struct virtq_desc</c>): addr u64, len u32, flags u16, next u16.</summary>
    public const int DescriptorSize = 16;

    /// <summary>The size of one used element (<c>struct virtq_used_elem</c>): id u32, len u32.</summary>
    public const int UsedElementSize = 8;

    /// <summary>Required alignment of the descriptor table (§2.7 table "Virtqueue Part Alignment").</summary>
    public const int DescriptorTableAlignment = 16;

    /// <summary>Required alignment of the available ring.</summary>
    public const int AvailRingAlignment = 2;

    /// <summary>Required alignment of the used ring.</summary>
    public const int UsedRingAlignment = 4;

    /// <summary><c>VIRTQ_DESC_F_NEXT</c>: the chain continues at <c>next</c>.</summary>
    public const ushort DescFlagNext = 1;

    /// <summary><c>VIRTQ_DESC_F_WRITE</c>: the buffer is device-writable.</summary>
    public const ushort DescFlagWrite = 2;

    /// <summary><c>VIRTQ_DESC_F_INDIRECT</c>: the buffer is a table of descriptors.</summary>
    public const ushort DescFlagIndirect = 4;

    /// <summary><c>VIRTQ_AVAIL_F_NO_INTERRUPT</c>: the driver asks not to be notified (without EVENT_IDX).</summary>
    public const ushort AvailFlagNoInterrupt = 1;

    /// <summary><c>VIRTQ_USED_F_NO_NOTIFY</c>: the device asks not to be kicked (without EVENT_IDX).</summary>
    public const ushort UsedFlagNoNotify = 1;

    /// <summary>Offset of <c>idx</c> in the available ring (after <c>flags</c>).</summary>
    public const int AvailIdxOffset = 2;

    /// <summary>Offset of the first entry of the available ring.</summary>
    public const int AvailRingOffset = 4;

    /// <summary>Offset of <c>idx</c> in the used ring (after <c>flags</c>).</summary>
    public const int UsedIdxOffset = 2;

    /// <summary>Offset of the first element of the used ring.</summary>
    public const int UsedRingOffset = 4;

    /// <summary>The descriptor table's size in bytes.</summary>
    public static ulong DescriptorTableBytes(int size) => (ulong)size * DescriptorSize;

    /// <summary>The available ring's size in bytes, including the trailing <c>used_event</c>.</summary>
    public static ulong AvailRingBytes(int size) => 6 + (2 * (ulong)size);

    /// <summary>The used ring's size in bytes, including the trailing <c>avail_event</c>.</summary>
    public static ulong UsedRingBytes(int size) => 6 + (UsedElementSize * (ulong)size);

    /// <summary>Offset of <c>used_event</c> in the available ring (EVENT_IDX).</summary>
    public static int UsedEventOffset(int size) => AvailRingOffset + (2 * size);

    /// <summary>Offset of <c>avail_event</c> in the used ring (EVENT_IDX).</summary>
    public static int AvailEventOffset(int size) => UsedRingOffset + (UsedElementSize * size);

    /// <summary>
    /// <c>vring_need_event</c> (§2.7.10): whether moving an index from <paramref name="oldIdx"/> to
    /// <paramref name="newIdx"/> passed <paramref name="eventIdx"/>, i.e. whether
    /// <c>eventIdx</c> is in <c>[oldIdx, newIdx)</c> modulo 2^16.
    /// </summary>
    public static bool NeedEvent(ushort eventIdx, ushort newIdx, ushort oldIdx) =>
        (ushort)(newIdx - eventIdx - 1) < (ushort)(newIdx - oldIdx);
}
