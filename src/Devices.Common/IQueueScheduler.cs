// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Common;

/// <summary>
/// How device logic asks for work on a queue without knowing which thread serves it: the event
/// registration half of the contract in <see cref="IDeviceLogic"/>.
/// </summary>
/// <remarks>
/// Every member may be called from any <see cref="IDeviceLogic"/> callback (they run under the
/// device's lock) or from the control thread. None blocks, and none calls back into the logic
/// before returning.
/// </remarks>
public interface IQueueScheduler
{
    /// <summary>
    /// Asks for <see cref="IDeviceLogic.ServiceQueue"/> of <paramref name="queueIndex"/> on that
    /// queue's own thread, soon. Wakes for a queue that is not started are dropped: starting a queue
    /// services it anyway.
    /// </summary>
    void Wake(int queueIndex);

    /// <summary>
    /// Watches <paramref name="fd"/> for <paramref name="events"/>; while it is ready,
    /// <see cref="IDeviceLogic.OnReady"/> runs with <paramref name="token"/> on the thread of
    /// <paramref name="queueIndex"/> (the queue that consumes the readiness). Level-triggered: the
    /// logic must consume the readiness or <see cref="Unwatch"/> the fd, or it is called again at
    /// once. A watch on a stopped queue takes effect when the queue starts.
    /// </summary>
    /// <param name="token">
    /// The logic's own name for this registration, unique among its live watches. Use a fresh one for
    /// each new fd: a readiness reported just before <see cref="Unwatch"/> may still arrive.
    /// </param>
    /// <param name="fd">A non-blocking descriptor; the caller keeps it open until it unwatches it.</param>
    /// <param name="queueIndex">The queue whose thread handles the readiness.</param>
    /// <param name="events">What to wait for.</param>
    void Watch(ulong token, FileDescriptor fd, int queueIndex, EpollEvents events);

    /// <summary>Stops the watch <paramref name="token"/>; nothing happens if it does not exist.</summary>
    void Unwatch(ulong token);
}
