// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Devices.Common;

/// <summary>
/// A virtio device's logic, free of any thread model. The host of the logic (today
/// <see cref="SerializedDevice"/>) calls every member under one lock, so the logic needs no locking
/// of its own, and maps queues and watched fds onto whatever threads the back end runs.
/// </summary>
/// <remarks>
/// <para>
/// The one rule: a queue is touched only inside the calls that name it
/// (<see cref="QueueStarted"/>, <see cref="ServiceQueue"/>, <see cref="OnReady"/>,
/// <see cref="QueueStopped"/>), through the <see cref="IVirtqueue"/> passed in. Work that another
/// queue must finish (a control request that unblocks the data queue, data that arrived for the
/// receive queue) is recorded in the logic's state and handed over with
/// <see cref="IQueueScheduler.Wake"/>.
/// </para>
/// <para>
/// No member may block: file descriptors are non-blocking and waiting is done by watching them.
/// </para>
/// </remarks>
public interface IDeviceLogic
{
    /// <summary>The virtio device ID.</summary>
    uint DeviceId { get; }

    /// <summary>The device's feature bits, including <c>VIRTIO_F_VERSION_1</c>.</summary>
    ulong DeviceFeatures { get; }

    /// <summary>Protocol features needed beyond the back end's own.</summary>
    ProtocolFeatures ProtocolFeatures { get; }

    /// <summary>The number of queues.</summary>
    int QueueCount { get; }

    /// <summary>The largest queue size accepted.</summary>
    ushort MaxQueueSize { get; }

    /// <summary>The config space size in bytes.</summary>
    int ConfigSize { get; }

    /// <summary>Called once before any queue starts, with the scheduler and the back end's services.</summary>
    void Attach(IQueueScheduler scheduler, IDeviceHost host);

    /// <summary>Reads config space (the range is checked).</summary>
    void ReadConfig(int offset, Span<byte> destination);

    /// <summary>A driver write to config space (the range is checked); false refuses it.</summary>
    bool WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>The front end acknowledged these features.</summary>
    void OnFeaturesAcked(ulong features);

    /// <summary>The queue started; it is serviced right after this returns.</summary>
    void QueueStarted(int index, IVirtqueue queue);

    /// <summary>The driver kicked the queue, or someone woke it: do what can be done now.</summary>
    void ServiceQueue(int index, IVirtqueue queue);

    /// <summary>A watched fd is ready; runs on the thread of the queue it was watched for.</summary>
    void OnReady(int index, IVirtqueue queue, ulong token);

    /// <summary>
    /// The queue is stopping: return every chain held for it (the ring's indices are read right
    /// after). Watches for the queue stay registered and are served again once it restarts.
    /// </summary>
    void QueueStopped(int index, IVirtqueue queue);

    /// <summary>The front end reset the device; every queue is stopped.</summary>
    void Reset();
}
