// SPDX-License-Identifier: MIT
namespace VirtioLoopback.TestDriver;

/// <summary>
/// Split ring constants as the driver sees them (virtio 1.x §2.7). Kept separate from the device
/// implementation on purpose, so the tests compare two independent readings of the spec.
/// </summary>
public static class RingLayout
{
    /// <summary><c>VIRTQ_DESC_F_NEXT</c>.</summary>
    public const ushort DescNext = 1;

    /// <summary><c>VIRTQ_DESC_F_WRITE</c>.</summary>
    public const ushort DescWrite = 2;

    /// <summary><c>VIRTQ_DESC_F_INDIRECT</c>.</summary>
    public const ushort DescIndirect = 4;

    /// <summary><c>VIRTQ_AVAIL_F_NO_INTERRUPT</c>.</summary>
    public const ushort AvailNoInterrupt = 1;

    /// <summary><c>VIRTQ_USED_F_NO_NOTIFY</c>.</summary>
    public const ushort UsedNoNotify = 1;

    /// <summary>Bytes per descriptor.</summary>
    public const int DescSize = 16;

    /// <summary>Bytes per used element.</summary>
    public const int UsedElemSize = 8;

    /// <summary><c>vring_need_event</c>: whether moving from <paramref name="old"/> to <paramref name="newIdx"/> passed <paramref name="eventIdx"/>.</summary>
    public static bool NeedEvent(ushort eventIdx, ushort newIdx, ushort old) =>
        (ushort)(newIdx - eventIdx - 1) < (ushort)(newIdx - old);
}
