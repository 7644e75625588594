// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// Where a device watches its own fds (timers, an evdev node, a completion eventfd) for one queue:
/// when an fd is ready, <see cref="IVirtioDevice.OnEvent"/> runs on the queue's thread with the
/// device's token, never at the same time as the queue's other callbacks.
/// </summary>
/// <remarks>
/// Call <see cref="Add"/> and <see cref="Remove"/> from the queue's callbacks (usually
/// <see cref="IVirtioDevice.Start"/> and <see cref="IVirtioDevice.Stop"/>); fds still registered
/// after <see cref="IVirtioDevice.Stop"/> are removed with a warning. Use non-blocking fds: a ring
/// that breaks stops watching them, and a readiness reported just before a removal is dropped.
/// </remarks>
public interface IQueueEvents
{
    /// <summary>Watches <paramref name="fd"/> (level-triggered unless <paramref name="events"/> says <see cref="EpollEvents.EdgeTriggered"/>).</summary>
    /// <param name="fd">The descriptor; the device keeps ownership and must not close it while registered.</param>
    /// <param name="token">The device's own value, passed back to <see cref="IVirtioDevice.OnEvent"/>.</param>
    /// <param name="events">The readiness to wait for.</param>
    /// <exception cref="SysException">The fd is already registered, or epoll refused it.</exception>
    /// <exception cref="System.InvalidOperationException">Not called on the queue's thread.</exception>
    void Add(FileDescriptor fd, ulong token, EpollEvents events = EpollEvents.In);

    /// <summary>Stops watching <paramref name="fd"/>; does nothing if it is not registered.</summary>
    void Remove(FileDescriptor fd);
}
