// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// A virtio device served by the generic vhost-user back end. The back end owns the protocol,
/// the memory table, the rings and the threads; the device owns only its own logic.
/// </summary>
/// <remarks>
/// Threading: <see cref="Start"/>, <see cref="Process"/>, <see cref="OnEvent"/> and <see cref="Stop"/>
/// run on the worker thread of the vring they name (one thread per queue), never concurrently for
/// the same vring. The remaining members run on the control thread, while no vring is processing
/// for <see cref="OnFeaturesAcked"/> and <see cref="Reset"/>; config reads and writes may overlap
/// with processing, so devices guard their config state themselves.
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
    /// The vring has started (it has a kick fd, addresses and a base). Runs on the vring's worker
    /// thread; the device may register extra fds with <see cref="VringWorker.AddFd"/>.
    /// </summary>
    void Start(Vring vring);

    /// <summary>
    /// The driver kicked the vring, or processing must resume. Pops, handles and pushes requests,
    /// then calls <see cref="Vring.NotifyIfNeeded"/>. Runs on the vring's worker thread.
    /// </summary>
    void Process(Vring vring);

    /// <summary>An fd the device registered on the vring's worker became ready.</summary>
    void OnEvent(Vring vring, ulong token);

    /// <summary>
    /// The vring is stopping (<c>GET_VRING_BASE</c>, disconnect, reset). The device completes or
    /// abandons its asynchronous work for the vring, pushing what finished, and unregisters its fds
    /// before returning. Runs on the vring's worker thread.
    /// </summary>
    void Stop(Vring vring);

    /// <summary>The front end reset the device or disconnected; return to the power-on state.</summary>
    void Reset();
}
