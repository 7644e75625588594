// SPDX-License-Identifier: MIT
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// A virtqueue as a device's request logic sees it. <see cref="Vring"/> is the real one; tests drive
/// the same logic over a bare split queue, without the back end's threads and sockets.
/// </summary>
public interface IVirtqueue
{
    /// <summary>The queue size the driver chose.</summary>
    ushort Size { get; }

    /// <summary>The current guest memory table (take it once per batch).</summary>
    GuestMemoryMap Memory { get; }

    /// <summary>Whether the queue was marked broken.</summary>
    bool IsBroken { get; }

    /// <summary>
    /// Whether the front end enabled the ring (<c>SET_VRING_ENABLE</c>). A disabled ring is not popped
    /// from the device's own events (timers, evdev); enabling it processes the ring.
    /// </summary>
    bool IsEnabled { get; }

    /// <summary>Pops the next available chain into <paramref name="chain"/>.</summary>
    PopResult TryPop(DescriptorChain chain);

    /// <summary>Returns a chain to the driver with <paramref name="written"/> bytes written.</summary>
    void PushUsed(ushort head, uint written);

    /// <summary>Interrupts the driver if it asked to be and something was pushed.</summary>
    void NotifyIfNeeded();

    /// <summary>Asks for kicks again; true when buffers arrived meanwhile.</summary>
    bool EnableNotification();

    /// <summary>Suppresses kicks while the device is busy.</summary>
    void DisableNotification();

    /// <summary>Stops the queue for good because the driver misbehaved.</summary>
    void MarkBroken(string reason);
}
