// SPDX-License-Identifier: MIT
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// A virtqueue as a device sees it: the ring operations, the guest memory, and the registration of
/// the device's own fds on the queue's thread. <see cref="Vring"/> is the real one; tests drive the
/// same device logic over a bare split queue, without the back end's threads and sockets.
/// </summary>
/// <remarks>
/// Use it only from the queue's callbacks (<see cref="IVirtioDevice"/>). <see cref="Memory"/> stays
/// valid for the callback that read it: a memory-table change reaches the queue between callbacks,
/// and work that outlives the callback (a request on an I/O thread) holds a lease on the map
/// (<see cref="GuestMemoryMap.AddLease"/>) until it completes.
/// </remarks>
public interface IVirtqueue
{
    /// <summary>The queue index.</summary>
    int Index { get; }

    /// <summary>The queue size the driver chose.</summary>
    ushort Size { get; }

    /// <summary>The current guest memory table (take it once per callback).</summary>
    GuestMemoryMap Memory { get; }

    /// <summary>Whether the queue was marked broken.</summary>
    bool IsBroken { get; }

    /// <summary>
    /// Whether the front end enabled the ring (<c>SET_VRING_ENABLE</c>). A disabled ring is not popped
    /// from the device's own events (timers, evdev); enabling it processes the ring.
    /// </summary>
    bool IsEnabled { get; }

    /// <summary>Where the device registers its fds for this queue.</summary>
    IQueueEvents Events { get; }

    /// <summary>
    /// A chain buffer for this queue, with room for the device's largest queue
    /// (<see cref="IVirtioDevice.MaxQueueSize"/>, at least <see cref="Size"/>) of descriptors: the
    /// segment limit a device states may exceed the ring the driver chose. Call it in
    /// <see cref="IVirtioDevice.Start"/> (the size can change between starts), never per request.
    /// </summary>
    DescriptorChain CreateChain();

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

    /// <summary>Stops the queue for good (until it is restarted) because the driver misbehaved.</summary>
    void MarkBroken(string reason);
}
