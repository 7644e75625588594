// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// Device-independent virtio feature bits (virtio 1.x §6, "Reserved Feature Bits") as 64-bit masks.
/// </summary>
public static class VirtioFeatures
{
    /// <summary><c>VIRTIO_F_NOTIFY_ON_EMPTY</c> (24, legacy): notify the driver when the avail ring runs empty.</summary>
    public const ulong NotifyOnEmpty = 1UL << 24;

    /// <summary><c>VIRTIO_F_ANY_LAYOUT</c> (27, legacy): the device accepts any framing of requests over descriptors.</summary>
    public const ulong AnyLayout = 1UL << 27;

    /// <summary><c>VIRTIO_RING_F_INDIRECT_DESC</c> (28): the driver may use indirect descriptor tables.</summary>
    public const ulong RingIndirectDesc = 1UL << 28;

    /// <summary><c>VIRTIO_RING_F_EVENT_IDX</c> (29): <c>used_event</c>/<c>avail_event</c> suppress notifications.</summary>
    public const ulong RingEventIdx = 1UL << 29;

    /// <summary><c>VIRTIO_F_VERSION_1</c> (32): virtio 1.x semantics (little-endian rings).</summary>
    public const ulong Version1 = 1UL << 32;

    /// <summary><c>VIRTIO_F_ACCESS_PLATFORM</c> (33): device accesses go through a platform IOMMU.</summary>
    public const ulong AccessPlatform = 1UL << 33;

    /// <summary><c>VIRTIO_F_RING_PACKED</c> (34): the packed virtqueue layout.</summary>
    public const ulong RingPacked = 1UL << 34;

    /// <summary><c>VIRTIO_F_IN_ORDER</c> (35): buffers are used in the order they were made available.</summary>
    public const ulong InOrder = 1UL << 35;

    /// <summary><c>VIRTIO_F_ORDER_PLATFORM</c> (36): memory accesses need platform ordering barriers.</summary>
    public const ulong OrderPlatform = 1UL << 36;

    /// <summary><c>VIRTIO_F_SR_IOV</c> (37): the device supports single root I/O virtualization.</summary>
    public const ulong SrIov = 1UL << 37;

    /// <summary><c>VIRTIO_F_NOTIFICATION_DATA</c> (38): driver notifications carry extra data.</summary>
    public const ulong NotificationData = 1UL << 38;

    /// <summary><c>VIRTIO_F_RING_RESET</c> (40): the driver may reset individual queues.</summary>
    public const ulong RingReset = 1UL << 40;
}
