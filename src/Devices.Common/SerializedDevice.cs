// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Devices.Common;

/// <summary>
/// Runs an <see cref="IDeviceLogic"/> on whatever threads the back end serves its queues with. Every
/// call into the logic takes one lock; a queue is serviced from its own callbacks; a wake rings the
/// queue's doorbell eventfd, registered on the queue's thread; watched fds are registered on the
/// thread of the queue they were watched for, by that thread, and again each time the queue starts.
/// </summary>
/// <remarks>
/// <para>
/// The back end lets a queue's fds be registered only from that queue's callbacks
/// (<see cref="IQueueEvents"/>). A watch or unwatch made for another queue is therefore recorded and
/// that queue's doorbell rung; its thread applies the change before it next calls the logic. Each
/// watch holds a reference on its <see cref="FileDescriptor"/> until its registration is gone, so a
/// caller that closes the fd right after <see cref="Unwatch"/> never leaves a number in epoll that a
/// new file could take.
/// </para>
/// <para>
/// The lock is never held while waiting for anything: the logic does not block. The driver is
/// signalled only after the lock is released (see <see cref="DeferredNotifyQueue"/>). Per-request
/// cost: one uncontended lock, plus one eventfd write for each wake.
/// </para>
/// </remarks>
public sealed class SerializedDevice : IVirtioDevice, IQueueScheduler, IDisposable
{
    // The queue token of a doorbell; the logic's watch tokens are passed shifted by one.
    private const ulong DoorbellToken = 0;

    private readonly IDeviceLogic _logic;
    private readonly object _gate = new();
    private readonly QueueSlot[] _queues;
    private readonly Dictionary<ulong, WatchEntry> _watches = new();
    private bool _disposed;

    /// <summary>Hosts <paramref name="logic"/>. The caller keeps owning the logic; this object owns only its doorbells.</summary>
    public SerializedDevice(IDeviceLogic logic)
    {
        ArgumentNullException.ThrowIfNull(logic);
        _logic = logic;
        _queues = new QueueSlot[logic.QueueCount];
        for (int i = 0; i < _queues.Length; i++)
        {
            _queues[i] = new QueueSlot(EventFd.Create());
        }
    }

    /// <inheritdoc />
    public uint DeviceId => _logic.DeviceId;

    /// <inheritdoc />
    public ulong DeviceFeatures => _logic.DeviceFeatures;

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => _logic.ProtocolFeatures;

    /// <inheritdoc />
    public int QueueCount => _queues.Length;

    /// <inheritdoc />
    public ushort MaxQueueSize => _logic.MaxQueueSize;

    /// <inheritdoc />
    public int ConfigSize => _logic.ConfigSize;

    /// <inheritdoc />
    public void Attach(IDeviceHost host)
    {
        lock (_gate)
        {
            _logic.Attach(this, host);
        }
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        lock (_gate)
        {
            _logic.ReadConfig(offset, destination);
        }
    }

    /// <inheritdoc />
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            bool accepted = _logic.WriteConfig(offset, data);
            RingChangedQueues(-1);
            return accepted;
        }
    }

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features)
    {
        lock (_gate)
        {
            _logic.OnFeaturesAcked(features);
        }
    }

    /// <inheritdoc />
    public void Start(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        QueueSlot slot = _queues[queue.Index];
        lock (_gate)
        {
            slot.Doorbell.TryRead(out _);
            queue.Events.Add(slot.Doorbell.Handle, DoorbellToken);
            slot.Queue = queue;
            slot.Proxy.Bind(queue);

            // Every live watch for this queue returns to its epoll set (Stop took them out).
            slot.Changed = true;
            ApplyWatches(slot, queue);
            _logic.QueueStarted(queue.Index, slot.Proxy);
            ApplyWatches(slot, queue);
            RingChangedQueues(queue.Index);
        }

        slot.Proxy.Flush();
    }

    /// <inheritdoc />
    public void Process(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        Service(queue);
    }

    /// <inheritdoc />
    public void OnEvent(IVirtqueue queue, ulong token)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (token == DoorbellToken)
        {
            // Drain first: a wake rung while the logic runs must ring again.
            _queues[queue.Index].Doorbell.TryRead(out _);
            Service(queue);
            return;
        }

        QueueSlot slot = _queues[queue.Index];
        lock (_gate)
        {
            if (slot.Queue != queue)
            {
                return;
            }

            ApplyWatches(slot, queue);

            // A readiness reported just before an unwatch finds no live registration on this queue.
            if (_watches.TryGetValue(token - 1, out WatchEntry? entry) && entry.RegisteredOn == slot)
            {
                _logic.OnReady(queue.Index, slot.Proxy, token - 1);
                ApplyWatches(slot, queue);
                RingChangedQueues(queue.Index);
            }
        }

        slot.Proxy.Flush();
    }

    /// <inheritdoc />
    public void Stop(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        QueueSlot slot = _queues[queue.Index];
        lock (_gate)
        {
            try
            {
                _logic.QueueStopped(queue.Index, slot.Proxy);
            }
            finally
            {
                // Live watches stay recorded and return to the queue's thread at its next start.
                foreach (WatchEntry entry in _watches.Values)
                {
                    if (entry.RegisteredOn == slot)
                    {
                        queue.Events.Remove(entry.Fd);
                        entry.RegisteredOn = null;
                    }
                }

                RetireAll(slot, queue);
                queue.Events.Remove(slot.Doorbell.Handle);
                slot.Queue = null;
                RingChangedQueues(queue.Index);
            }
        }

        slot.Proxy.Flush();
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_gate)
        {
            _logic.Reset();
            RingChangedQueues(-1);
        }
    }

    /// <inheritdoc />
    public void Wake(int queueIndex)
    {
        QueueSlot slot = _queues[queueIndex];
        lock (_gate)
        {
            if (slot.Queue is null)
            {
                return;
            }
        }

        slot.Doorbell.Signal();
    }

    /// <inheritdoc />
    public void Watch(ulong token, FileDescriptor fd, int queueIndex, EpollEvents events)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentOutOfRangeException.ThrowIfEqual(token, ulong.MaxValue);
        ArgumentOutOfRangeException.ThrowIfNegative(queueIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(queueIndex, _queues.Length);
        lock (_gate)
        {
            if (_watches.ContainsKey(token))
            {
                throw new ArgumentException($"Watch token {token} is in use.", nameof(token));
            }

            bool added = false;
            fd.DangerousAddRef(ref added);
            _watches.Add(token, new WatchEntry(token, fd, _queues[queueIndex], events));
            _queues[queueIndex].Changed = true;
        }
    }

    /// <inheritdoc />
    public void Unwatch(ulong token)
    {
        lock (_gate)
        {
            if (!_watches.Remove(token, out WatchEntry? entry))
            {
                return;
            }

            if (entry.RegisteredOn is null)
            {
                entry.Fd.DangerousRelease();
                return;
            }

            // Only the queue's own thread may take it out of its epoll set.
            entry.RegisteredOn.Retiring.Add(entry);
            entry.RegisteredOn.Changed = true;
        }
    }

    /// <summary>Closes the doorbells and drops the watches' fd references (the back end has stopped every queue).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (WatchEntry entry in _watches.Values)
            {
                entry.Fd.DangerousRelease();
            }

            _watches.Clear();
            foreach (QueueSlot slot in _queues)
            {
                foreach (WatchEntry entry in slot.Retiring)
                {
                    entry.Fd.DangerousRelease();
                }

                slot.Retiring.Clear();
                slot.Doorbell.Dispose();
            }
        }
    }

    private void Service(IVirtqueue queue)
    {
        QueueSlot slot = _queues[queue.Index];
        lock (_gate)
        {
            if (slot.Queue != queue)
            {
                return;
            }

            ApplyWatches(slot, queue);
            _logic.ServiceQueue(queue.Index, slot.Proxy);
            ApplyWatches(slot, queue);
            RingChangedQueues(queue.Index);
        }

        slot.Proxy.Flush();
    }

    // Brings the queue's epoll registrations in line with the recorded watches (its thread, under the lock).
    private void ApplyWatches(QueueSlot slot, IVirtqueue queue)
    {
        if (!slot.Changed)
        {
            return;
        }

        slot.Changed = false;
        RetireAll(slot, queue);
        foreach (WatchEntry entry in _watches.Values)
        {
            if (entry.Target != slot || entry.RegisteredOn is not null)
            {
                continue;
            }

            try
            {
                queue.Events.Add(entry.Fd, entry.Token + 1, entry.Events);
                entry.RegisteredOn = slot;
            }
            catch (SysException e)
            {
                queue.MarkBroken($"the device's fd for watch {entry.Token} cannot be watched: {e.Message}");
                return;
            }
        }
    }

    private static void RetireAll(QueueSlot slot, IVirtqueue queue)
    {
        foreach (WatchEntry entry in slot.Retiring)
        {
            queue.Events.Remove(entry.Fd);
            entry.RegisteredOn = null;
            entry.Fd.DangerousRelease();
        }

        slot.Retiring.Clear();
    }

    // Rings the doorbell of every started queue other than the current one whose watches changed.
    private void RingChangedQueues(int current)
    {
        for (int i = 0; i < _queues.Length; i++)
        {
            QueueSlot slot = _queues[i];
            if (i != current && slot.Changed && slot.Queue is not null)
            {
                slot.Doorbell.Signal();
            }
        }
    }

    private sealed class WatchEntry(ulong token, FileDescriptor fd, QueueSlot target, EpollEvents events)
    {
        public ulong Token { get; } = token;

        public FileDescriptor Fd { get; } = fd;

        public QueueSlot Target { get; } = target;

        public EpollEvents Events { get; } = events;

        // The slot whose queue has the fd in its epoll set now; changed on that queue's thread only.
        public QueueSlot? RegisteredOn { get; set; }
    }

    private sealed class QueueSlot(EventFd doorbell)
    {
        public EventFd Doorbell { get; } = doorbell;

        /// <summary>What the logic sees of the queue; used on the queue's thread only.</summary>
        public DeferredNotifyQueue Proxy { get; } = new();

        // The rest is guarded by _gate.
        public IVirtqueue? Queue { get; set; }

        /// <summary>Watches for this queue were added or removed since its thread last applied them.</summary>
        public bool Changed { get; set; }

        /// <summary>Unwatched entries still in this queue's epoll set.</summary>
        public List<WatchEntry> Retiring { get; } = new();
    }
}
