// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// A virtio device served by the generic vhost-user back end. The back end owns the protocol,
/// the memory table, the rings and the threads; the device owns only its own logic.
/// </summary>
/// <remarks>
/// <para>
/// Threading: <see cref="Start"/>, <see cref="Process"/>, <see cref="OnEvent"/> and <see cref="Stop"/>
/// run on the thread that serves the queue they name, one at a time for that queue. The back end
/// decides how queues map to threads: several queues may share a thread (their callbacks then run
/// one after the other) or have one each (then callbacks of different queues run at the same
/// time), so state shared between queues needs a lock, and a callback must never block: it would
/// stall every queue of its thread. A queue has a thread only while it is started.
/// </para>
/// <para>
/// The remaining members run on the control thread: <see cref="OnFeaturesAcked"/> and
/// <see cref="Reset"/> while no queue is started; config reads and writes may overlap with
/// processing, so devices guard their config state themselves.
/// </para>
/// <para>
/// Memory: the front end may change the memory table at any time, and the back end applies the
/// change between two callbacks of each queue, without stopping it. Take
/// <see cref="IVirtqueue.Memory"/> once per callback; anything that uses guest memory after its
/// callback returned holds a lease on that map (<see cref="GuestMemory.GuestMemoryMap.AddLease"/>).
/// </para>
/// </remarks>
public interface IVirtioDevice
{
    /// <summary>The virtio device ID (virtio 1.x §5): 2 block, 4 entropy, 18 input, ...</summary>
    uint DeviceId { get; }

    /// <summary>
    /// The device's virtio feature bits, including <c>VIRTIO_F_VERSION_1</c>. The back end adds the
    /// ring features it implements (indirect descriptors, event index, notify-on-empty) and
    /// <c>VHOST_USER_F_PROTOCOL_FEATURES</c> itself.
    /// </summary>
    ulong DeviceFeatures { get; }

    /// <summary>
    /// Protocol features the device needs on top of those the back end always offers
    /// (for example <see cref="ProtocolFeatures.Config"/> or <see cref="ProtocolFeatures.InflightShmfd"/>).
    /// </summary>
    ProtocolFeatures ProtocolFeatures { get; }

    /// <summary>The number of virtqueues the device offers (<c>GET_QUEUE_NUM</c>).</summary>
    int QueueCount { get; }

    /// <summary>The largest queue size the device accepts (a power of two, at most 32768).</summary>
    ushort MaxQueueSize { get; }

    /// <summary>The size of the device's config space in bytes; 0 when it has none.</summary>
    int ConfigSize { get; }

    /// <summary>Called once, before any connection, with the back end's services.</summary>
    void Attach(IDeviceHost host);

    /// <summary>
    /// Copies config space bytes at <paramref name="offset"/> into <paramref name="destination"/>.
    /// The range is already checked against <see cref="ConfigSize"/>.
    /// </summary>
    void ReadConfig(int offset, Span<byte> destination);

    /// <summary>
    /// Applies a driver write to config space (virtio-input's select/subsel, blk's writeback).
    /// Returns false when the write is refused; the range is already checked.
    /// </summary>
    bool WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>The front end acknowledged these virtio features (<c>SET_FEATURES</c>).</summary>
    void OnFeaturesAcked(ulong features);

    /// <summary>
    /// The queue has started (it has a kick fd, addresses and a base). The device may register its
    /// fds with <see cref="IVirtqueue.Events"/>.
    /// </summary>
    void Start(IVirtqueue queue);

    /// <summary>
    /// The driver kicked the queue, or processing must resume. Pops, handles and pushes requests,
    /// then calls <see cref="IVirtqueue.NotifyIfNeeded"/>.
    /// </summary>
    void Process(IVirtqueue queue);

    /// <summary>An fd the device registered for the queue became ready.</summary>
    void OnEvent(IVirtqueue queue, ulong token);

    /// <summary>
    /// The queue is stopping (<c>GET_VRING_BASE</c>, disconnect, reset). The device completes or
    /// abandons its asynchronous work for the queue, pushing what finished and returning its memory
    /// leases, and unregisters its fds before returning.
    /// </summary>
    void Stop(IVirtqueue queue);

    /// <summary>The front end reset the device or disconnected; return to the power-on state.</summary>
    void Reset();
}
