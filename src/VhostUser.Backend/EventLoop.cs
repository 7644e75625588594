// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// One thread serving the started queues the back end gave it (<see cref="QueueThreads"/>): an
/// epoll set over their kick eventfds and the fds their devices registered, a wake eventfd, and the
/// control actions the control thread runs here between two callbacks (<see cref="Invoke"/>).
/// </summary>
/// <remarks>
/// <para>
/// Within one wake-up the ready fds are handled first, then the control actions, then the passes
/// that either scheduled. A control action queued after an fd became ready therefore runs after
/// that fd's callback: any ring request that runs here (<c>SET_VRING_CALL</c>, for one) is a barrier
/// behind every kick and device event signalled before it was sent.
/// </para>
/// <para>
/// Epoll tokens name a registration slot and its generation, so an event still in a batch for a
/// registration removed meanwhile (and its slot maybe reused) is dropped, never misdelivered.
/// Nothing a device throws leaves its callback: the queue breaks and the loop goes on.
/// </para>
/// <para>
/// Polling (<see cref="BackendOptions.PollMicroseconds"/>): after a wake-up that served a kick or a
/// device event, the loop asks epoll without sleeping until the window has passed with nothing
/// new. A kick signalled meanwhile is found on the next ask, without waking this thread: at queue
/// depth 1 that is the back end's wake-up of each request (docs/PERFORMANCE.md measures what it
/// buys and costs). Idle queues cost nothing, since only activity opens the window.
/// </para>
/// </remarks>
internal sealed class EventLoop : IDisposable
{
    // The wake eventfd's token; registration tokens are slot | generation << 32 and never reach it.
    private const ulong WakeToken = ulong.MaxValue;

    // The events one epoll_wait returns at most; the buffer is allocated once.
    private const int EventBatch = 16;

    private readonly ILogger _logger;
    private readonly Epoll _epoll;
    private readonly EventFd _wake;
    private readonly EpollEvent[] _events = new EpollEvent[EventBatch];
    private readonly Thread _thread;
    private readonly long _pollTicks;

    // Protects _controlQueue and _exiting: the control thread enqueues, the loop dequeues.
    private readonly Lock _controlLock = new();
    private readonly Queue<ControlItem> _controlQueue = new();
    private bool _exiting;

    // Loop-thread state: registrations by slot, free slots, and the rings to process once the
    // current wake-up is handled.
    private readonly List<Registration?> _slots = new();
    private readonly Stack<int> _freeSlots = new();
    private readonly List<Vring> _scheduled = new();
    private uint _generation;
    private bool _disposed;

    internal EventLoop(int id, int pollMicroseconds, ILogger logger)
    {
        Id = id;
        _pollTicks = pollMicroseconds * Stopwatch.Frequency / 1_000_000;
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
            Name = $"vhost-queues{id}",
        };
        _thread.Start();
    }

    /// <summary>The loop's number (its thread is <c>vhost-queues{Id}</c>).</summary>
    internal int Id { get; }

    /// <summary>Whether the caller is this loop's thread.</summary>
    internal bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>
    /// Runs <paramref name="action"/> on the loop between two callbacks and waits for it (inline when
    /// called on the loop itself). An exception thrown by the action is rethrown here.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The loop has ended.</exception>
    internal void Invoke(Action action)
    {
        if (IsLoopThread)
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

        // The loop can only be late if a device blocks in a callback; say so rather than hang silently.
        while (!item.Done.Wait(TimeSpan.FromSeconds(5)))
        {
            Log.LoopSlow(_logger, Id);
        }

        item.Error?.Throw();
    }

    /// <summary>
    /// Watches <paramref name="fd"/> for <paramref name="vring"/> (loop thread): its kick, or one of
    /// its device's fds with <paramref name="deviceToken"/>.
    /// </summary>
    /// <returns>The registration's slot.</returns>
    /// <exception cref="SysException">epoll refused the fd (already watched, not pollable).</exception>
    internal int Register(Vring vring, FileDescriptor fd, EpollEvents events, bool isKick, ulong deviceToken)
    {
        int slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : AddSlot();
        Registration registration = new(vring, fd, isKick, deviceToken, ++_generation);
        try
        {
            _epoll.Add(fd, events, Token(slot, registration.Generation));
        }
        catch
        {
            _freeSlots.Push(slot);
            throw;
        }

        _slots[slot] = registration;
        return slot;
    }

    /// <summary>Stops watching the fd of <paramref name="slot"/> and frees the slot (loop thread).</summary>
    internal void Unregister(int slot)
    {
        Detach(slot);
        _slots[slot] = null;
        _freeSlots.Push(slot);
    }

    /// <summary>
    /// Takes the fd of <paramref name="slot"/> out of epoll but keeps the slot (loop thread): a broken
    /// ring's device fds, which nobody reads any more and which would otherwise spin the loop.
    /// </summary>
    internal void Detach(int slot)
    {
        Registration? r = _slots[slot];
        if (r is null || !r.Attached)
        {
            return;
        }

        r.Attached = false;
        if (!r.Fd.IsClosed)
        {
            _epoll.Remove(r.Fd);
        }
    }

    /// <summary>Processes <paramref name="vring"/> once the current wake-up is handled (loop thread).</summary>
    internal void Schedule(Vring vring)
    {
        if (!_scheduled.Contains(vring))
        {
            _scheduled.Add(vring);
        }
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
        if (!IsLoopThread)
        {
            _thread.Join();
        }

        _epoll.Dispose();
        _wake.Dispose();
    }

    private static ulong Token(int slot, uint generation) => (uint)slot | ((ulong)generation << 32);

    private int AddSlot()
    {
        _slots.Add(null);
        return _slots.Count - 1;
    }

    private void Run()
    {
        Log.LoopStarted(_logger, Id);
        long pollUntil = 0;
        while (true)
        {
            bool polling = _pollTicks > 0 && Stopwatch.GetTimestamp() < pollUntil;
            int count;
            try
            {
                count = _epoll.Wait(_events, polling ? 0 : -1);
            }
            catch (SysException e)
            {
                // epoll_wait fails only for programming errors (EBADF, EINVAL); back off instead of spinning.
                Log.LoopWaitFailed(_logger, e, Id);
                Thread.Sleep(100);
                continue;
            }

            if (count == 0)
            {
                continue;
            }

            bool control = false;
            bool served = false;
            for (int i = 0; i < count; i++)
            {
                ulong token = _events[i].Token;
                if (token == WakeToken)
                {
                    control = true;
                    continue;
                }

                int slot = (int)(uint)token;
                Registration? r = slot < _slots.Count ? _slots[slot] : null;
                if (r is null || !r.Attached || r.Generation != (uint)(token >> 32))
                {
                    continue;
                }

                served = true;
                if (r.IsKick)
                {
                    r.Vring.OnKick();
                }
                else
                {
                    r.Vring.OnDeviceEvent(r.DeviceToken);
                }
            }

            if (control && !RunControlActions())
            {
                Log.LoopStopped(_logger, Id);
                return;
            }

            RunScheduled();
            if (served && _pollTicks > 0)
            {
                pollUntil = Stopwatch.GetTimestamp() + _pollTicks;
            }
        }
    }

    /// <summary>Runs the queued control actions; false when the loop must exit.</summary>
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

    private void RunScheduled()
    {
        while (_scheduled.Count > 0)
        {
            Vring vring = _scheduled[0];
            _scheduled.RemoveAt(0);
            vring.ProcessRing();
        }
    }

    /// <summary>One watched fd: a ring's kick or one of its device's fds.</summary>
    private sealed class Registration(Vring vring, FileDescriptor fd, bool isKick, ulong deviceToken, uint generation)
    {
        public Vring Vring { get; } = vring;

        public FileDescriptor Fd { get; } = fd;

        public bool IsKick { get; } = isKick;

        public ulong DeviceToken { get; } = deviceToken;

        public uint Generation { get; } = generation;

        public bool Attached { get; set; } = true;
    }

    private sealed class ControlItem(Action action) : IDisposable
    {
        public Action Action { get; } = action;

        public ManualResetEventSlim Done { get; } = new();

        public ExceptionDispatchInfo? Error { get; set; }

        public void Dispose() => Done.Dispose();
    }
}
