// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The thread that serves one vring: an epoll loop over the ring's kick eventfd, a wake eventfd for
/// control actions, and the fds its device registers with <see cref="AddFd"/>.
/// </summary>
/// <remarks>
/// <para>
/// Only this thread touches the vring's queue while the ring runs. The control thread changes ring
/// state (start, stop, memory table, call/err fds, enable) through <see cref="Invoke"/>, which runs the
/// change here between two device calls and waits for it.
/// </para>
/// <para>
/// A kick on a started ring that is disabled is not processed: the avail ring stays untouched and
/// the kick stays pending until <c>SET_VRING_ENABLE(1)</c>, which processes the ring. vhost-user.rst
/// asks a started-but-disabled ring to be "processed without side effects"; for blk, rng and input
/// every request has a side effect (or consumes entropy or events), so leaving the buffers in the
/// ring is the only side-effect-free processing. QEMU 7.2+ disables a ring just before
/// <c>GET_VRING_BASE</c>, and the buffers left then are picked up from the returned base.
/// </para>
/// <para>
/// Every exception from device code is caught: the vring is marked broken and the thread goes on
/// serving control actions. Nothing here ends the process.
/// </para>
/// </remarks>
public sealed class VringWorker : IDisposable
{
    /// <summary>The largest token a device may pass to <see cref="AddFd"/>.</summary>
    public const ulong MaxDeviceToken = ulong.MaxValue - DeviceTokenBase;

    // Epoll tokens: two reserved ones, then the device's tokens shifted above them so they never collide.
    private const ulong WakeToken = 0;
    private const ulong KickToken = 1;
    private const ulong DeviceTokenBase = 2;

    // The events one epoll_wait returns at most; the buffer is allocated once.
    private const int EventBatch = 16;

    private readonly Vring _vring;
    private readonly IVirtioDevice _device;
    private readonly ILogger _logger;
    private readonly Epoll _epoll;
    private readonly EventFd _wake;
    private readonly EpollEvent[] _events = new EpollEvent[EventBatch];
    private readonly Thread _thread;

    // Protects _controlQueue and _exiting: the control thread enqueues, the worker dequeues.
    private readonly object _controlLock = new();
    private readonly Queue<ControlItem> _controlQueue = new();
    private bool _exiting;

    // Protects _deviceFds: devices usually add and remove fds on this thread (Start/Stop), but nothing
    // forbids another thread, and the list is also walked when the ring breaks.
    private readonly object _deviceFdsLock = new();
    private readonly List<DeviceFd> _deviceFds = new();
    private bool _deviceFdsDetached;

    // Worker-thread state: the kick fd registered in epoll, and "process the ring once the current
    // batch of events is handled" (after a start or an enable, for kicks left pending meanwhile).
    private EventFd? _kick;
    private bool _processPending;
    private bool _disposed;

    internal VringWorker(Vring vring, IVirtioDevice device, ILogger logger)
    {
        _vring = vring;
        _device = device;
        _logger = logger;
        _epoll = Epoll.Create();
        try
        {
            _wake = EventFd.Create();
            _epoll.Add(_wake.Handle, EpollEvents.In, WakeToken);
        }
        catch
        {
            _wake?.Dispose();
            _epoll.Dispose();
            throw;
        }

        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"vring{vring.Index}",
        };
        _thread.Start();
    }

    /// <summary>Whether the caller is this worker's thread.</summary>
    public bool IsWorkerThread => Thread.CurrentThread == _thread;

    /// <summary>
    /// Watches <paramref name="fd"/> on this worker; when it is ready, the device's
    /// <see cref="IVirtioDevice.OnEvent"/> runs here with <paramref name="token"/>. The device removes
    /// its fds in <see cref="IVirtioDevice.Stop"/> (leftovers are removed, with a warning). Use
    /// non-blocking fds: after a ring breaks or an fd is removed, a stale readiness may still arrive.
    /// </summary>
    /// <param name="fd">The descriptor; the caller keeps ownership and must not close it while registered.</param>
    /// <param name="token">The device's own token, at most <see cref="MaxDeviceToken"/>.</param>
    /// <param name="events">The readiness to wait for (level-triggered unless given <see cref="EpollEvents.EdgeTriggered"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The token is above <see cref="MaxDeviceToken"/>.</exception>
    /// <exception cref="SysException">The fd is already registered, or epoll refused it.</exception>
    public void AddFd(FileDescriptor fd, ulong token, EpollEvents events = EpollEvents.In)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(token, MaxDeviceToken);
        lock (_deviceFdsLock)
        {
            if (!_deviceFdsDetached)
            {
                _epoll.Add(fd, events, token + DeviceTokenBase);
            }

            _deviceFds.Add(new DeviceFd(fd, token, events));
        }
    }

    /// <summary>Stops watching <paramref name="fd"/>; does nothing if it is not registered.</summary>
    public void RemoveFd(FileDescriptor fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        lock (_deviceFdsLock)
        {
            int index = -1;
            for (int i = 0; i < _deviceFds.Count; i++)
            {
                if (_deviceFds[i].Fd == fd)
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                return;
            }

            _deviceFds.RemoveAt(index);
            if (!_deviceFdsDetached && !fd.IsClosed)
            {
                _epoll.Remove(fd);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the worker thread between two device calls and waits for it
    /// (inline when called on the worker itself). An exception thrown by the action is rethrown here.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The worker has been disposed.</exception>
    public void Invoke(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (IsWorkerThread)
        {
            action();
            return;
        }

        using ControlItem item = new(action);
        lock (_controlLock)
        {
            ObjectDisposedException.ThrowIf(_exiting, this);
            _controlQueue.Enqueue(item);
        }

        _wake.Signal();

        // The worker can only be late if the device blocks inside Process or OnEvent; say so rather
        // than hang silently.
        while (!item.Done.Wait(TimeSpan.FromSeconds(5)))
        {
            Log.WorkerSlow(_logger, _vring.Index);
        }

        item.Error?.Throw();
    }

    /// <summary>Ends the thread after the queued control actions and releases its fds.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_controlLock)
        {
            _exiting = true;
        }

        _wake.Signal();
        if (!IsWorkerThread)
        {
            _thread.Join();
        }

        _epoll.Dispose();
        _wake.Dispose();
    }

    /// <summary>Registers the ring's kick fd (worker thread, ring starting).</summary>
    internal void AttachKick(EventFd kick)
    {
        _epoll.Add(kick.Handle, EpollEvents.In, KickToken);
        _kick = kick;
    }

    /// <summary>Unregisters the ring's kick fd (worker thread, ring stopping); the caller closes it.</summary>
    internal void DetachKick()
    {
        if (_kick is not null)
        {
            if (!_kick.Handle.IsClosed)
            {
                _epoll.Remove(_kick.Handle);
            }

            _kick = null;
        }
    }

    /// <summary>Asks for one processing pass once the current events are handled (worker thread).</summary>
    internal void ScheduleProcess() => _processPending = true;

    /// <summary>
    /// Called after the device's <see cref="IVirtioDevice.Stop"/>: removes fds the device forgot, so a
    /// readable fd of a stopped ring cannot spin the loop, and re-arms registration for the next start.
    /// </summary>
    internal void ReleaseDeviceFds()
    {
        lock (_deviceFdsLock)
        {
            if (_deviceFds.Count > 0)
            {
                Log.DeviceFdsLeftOver(_logger, _vring.Index, _deviceFds.Count);
            }

            if (!_deviceFdsDetached)
            {
                foreach (DeviceFd d in _deviceFds)
                {
                    if (!d.Fd.IsClosed)
                    {
                        _epoll.Remove(d.Fd);
                    }
                }
            }

            _deviceFds.Clear();
            _deviceFdsDetached = false;
        }
    }

    /// <summary>
    /// A broken ring delivers no more device events; a level-triggered fd nobody reads would
    /// otherwise spin the loop. The registrations are kept so <see cref="RemoveFd"/> still works.
    /// </summary>
    private void DetachDeviceFds()
    {
        lock (_deviceFdsLock)
        {
            if (_deviceFdsDetached)
            {
                return;
            }

            foreach (DeviceFd d in _deviceFds)
            {
                if (!d.Fd.IsClosed)
                {
                    _epoll.Remove(d.Fd);
                }
            }

            _deviceFdsDetached = true;
        }
    }

    private void Run()
    {
        Log.WorkerStarted(_logger, _vring.Index);
        while (true)
        {
            int count;
            try
            {
                count = _epoll.Wait(_events, -1);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // epoll_wait fails only for programming errors (EBADF, EINVAL); back off instead of spinning.
                Log.WorkerWaitFailed(_logger, e, _vring.Index);
                Thread.Sleep(100);
                continue;
            }

            for (int i = 0; i < count; i++)
            {
                ulong token = _events[i].Token;
                if (token == WakeToken)
                {
                    if (!RunControlActions())
                    {
                        Log.WorkerStopped(_logger, _vring.Index);
                        return;
                    }

                    // Control actions may have replaced the kick fd or the device's fds: the rest of
                    // this batch can be stale. Level-triggered epoll reports what is still ready.
                    break;
                }

                if (token == KickToken)
                {
                    OnKick();
                }
                else
                {
                    OnDeviceEvent(token - DeviceTokenBase);
                }
            }

            if (_processPending)
            {
                _processPending = false;
                ProcessRing();
            }
        }
    }

    /// <summary>Runs the queued control actions; false when the worker must exit.</summary>
    private bool RunControlActions()
    {
        _wake.TryRead(out _);
        while (true)
        {
            ControlItem? item;
            lock (_controlLock)
            {
                if (!_controlQueue.TryDequeue(out item))
                {
                    return !_exiting;
                }
            }

            try
            {
                item.Action();
            }
            catch (Exception e)
            {
                item.Error = ExceptionDispatchInfo.Capture(e);
            }

            item.Done.Set();
        }
    }

    private void OnKick()
    {
        EventFd? kick = _kick;
        if (kick is null)
        {
            return;
        }

        try
        {
            // Drain first: a kick that arrives while the device processes must wake us again.
            kick.TryRead(out _);
        }
        catch (SysException e)
        {
            _vring.MarkBroken($"reading the kick eventfd failed: {e.Message}");
            return;
        }

        ProcessRing();
    }

    private void ProcessRing()
    {
        Vring vring = _vring;
        if (!vring.IsStarted)
        {
            return;
        }

        if (vring.IsBroken)
        {
            OnBroken();
            return;
        }

        if (!vring.IsEnabled)
        {
            vring.KickPending = true;
            return;
        }

        vring.KickPending = false;
        try
        {
            _device.Process(vring);
        }
        catch (Exception e)
        {
            vring.MarkBroken(e);
        }

        if (vring.IsBroken)
        {
            OnBroken();
        }
    }

    private void OnDeviceEvent(ulong token)
    {
        Vring vring = _vring;
        if (!vring.IsStarted || vring.IsBroken)
        {
            return;
        }

        try
        {
            _device.OnEvent(vring, token);
        }
        catch (Exception e)
        {
            vring.MarkBroken(e);
        }

        if (vring.IsBroken)
        {
            OnBroken();
        }
    }

    private void OnBroken()
    {
        // The queue may have broken itself inside TryPop/PushUsed; make sure it is reported.
        _vring.ReportBroken();
        DetachDeviceFds();
    }

    private readonly record struct DeviceFd(FileDescriptor Fd, ulong Token, EpollEvents Events);

    private sealed class ControlItem : IDisposable
    {
        public ControlItem(Action action) => Action = action;

        public Action Action { get; }

        public ManualResetEventSlim Done { get; } = new();

        public ExceptionDispatchInfo? Error { get; set; }

        public void Dispose() => Done.Dispose();
    }
}
