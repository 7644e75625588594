// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The vring's state machine, driven by the control thread (<see cref="BackendHandler"/>).
/// </summary>
/// <remarks>
/// Configuration fields (size, addresses, base, pending inflight area) are written by the control
/// thread only while the ring is stopped. A started ring has a thread (<see cref="Loop"/>), and
/// every change to it runs there between two callbacks (<see cref="EventLoop.Invoke"/>, whose
/// hand-off orders the accesses); a stopped ring has none, and the control thread changes it
/// directly. No change stops the device: a new memory table, call fd or enable flag is simply in
/// place for the next callback.
/// </remarks>
public sealed partial class Vring
{
    private bool _hasAddress;
    private ulong _descUser;
    private ulong _availUser;
    private ulong _usedUser;
    private bool _addressTranslated;
    private ulong _descGpa;
    private ulong _availGpa;
    private ulong _usedGpa;
    private ushort _base;
    private EventFd? _kick;
    private InflightQueue? _pendingInflight;

    /// <summary>The thread serving the ring while it is started; null while it is stopped (control thread writes it).</summary>
    internal EventLoop? Loop { get; private set; }

    /// <summary><c>SET_VRING_NUM</c>. The size is already checked (a power of two within the device's maximum).</summary>
    internal string? SetNum(ushort num)
    {
        if (IsStarted)
        {
            return "the ring is started";
        }

        Size = num;
        return null;
    }

    /// <summary>
    /// <c>SET_VRING_ADDR</c>: front-end virtual addresses, translated to guest physical addresses
    /// through <paramref name="memory"/> now and again whenever the memory table changes.
    /// </summary>
    internal string? SetAddress(ulong descUser, ulong availUser, ulong usedUser, GuestMemoryMap memory)
    {
        if (IsStarted)
        {
            return "the ring is started";
        }

        if (!TryTranslate(memory, descUser, availUser, usedUser, out ulong desc, out ulong avail, out ulong used, out string? error))
        {
            return error;
        }

        _hasAddress = true;
        _descUser = descUser;
        _availUser = availUser;
        _usedUser = usedUser;
        _addressTranslated = true;
        _descGpa = desc;
        _availGpa = avail;
        _usedGpa = used;
        return null;
    }

    /// <summary><c>SET_VRING_BASE</c>: the next avail index to process when the ring starts.</summary>
    internal string? SetBase(ushort value)
    {
        if (IsStarted)
        {
            return "the ring is started";
        }

        _base = value;
        return null;
    }

    /// <summary>
    /// <c>GET_VRING_BASE</c>: stops the ring (the device's <see cref="IVirtioDevice.Stop"/> runs on the
    /// worker) without resetting it, and returns the next avail index. The ring can start again with
    /// <c>SET_VRING_BASE</c> and <c>SET_VRING_KICK</c>.
    /// </summary>
    internal ushort GetBase()
    {
        Stop();
        return _base;
    }

    /// <summary>
    /// <c>SET_VRING_KICK</c>: starts the ring with <paramref name="kick"/>, or replaces the kick fd of
    /// a started ring. Null (the NOFD bit) means "no kick fd": the ring cannot be polled here, so it
    /// stops. Takes ownership of <paramref name="kick"/> on success and on failure.
    /// </summary>
    internal string? SetKick(EventFd? kick)
    {
        if (kick is null)
        {
            Log.KickWithoutFd(Logger, Index);
            Stop();
            return null;
        }

        string? error = null;
        if (Loop is { } running)
        {
            running.Invoke(() =>
            {
                // Attach the new fd before letting go of the old one: an fd epoll refuses (not an
                // eventfd) then leaves the running ring as it was, and the caller closes the new fd.
                EventFd? old = _attachedKick;
                DetachKick();
                try
                {
                    AttachKick(kick);
                }
                catch (SysException e)
                {
                    AttachKick(old!);
                    error = $"the kick fd cannot be polled: {e.Message}";
                    return;
                }

                _kick?.Dispose();
                _kick = kick;
                ScheduleProcess();
            });
        }
        else
        {
            // The ring gets its thread now, and loses it again if it cannot start.
            EventLoop loop = _threads.Acquire(Index);
            Loop = loop;
            loop.Invoke(() => error = StartOnLoop(kick));
            if (error is not null)
            {
                Loop = null;
                _threads.Release(Index);
            }
        }

        if (error is not null)
        {
            kick.Dispose();
        }

        return error;
    }

    /// <summary><c>SET_VRING_CALL</c>: swaps the call fd on the worker (QEMU does it while running to mask interrupts).</summary>
    internal void SetCall(EventFd? call) => OnRingThread(() =>
    {
        EventFd? old = _call;
        _call = call;
        old?.Dispose();
    });

    /// <summary><c>SET_VRING_ERR</c>: swaps the err fd on the worker.</summary>
    internal void SetErr(EventFd? err) => OnRingThread(() =>
    {
        EventFd? old = _err;
        _err = err;
        old?.Dispose();
    });

    /// <summary>
    /// <c>SET_VRING_ENABLE</c>, or <c>SET_FEATURES</c> without protocol features. Enabling a started
    /// ring processes the kicks that were left pending while it was disabled.
    /// </summary>
    internal void SetEnabled(bool enabled) => OnRingThread(() =>
    {
        IsEnabled = enabled;
        if (enabled && IsStarted)
        {
            ScheduleProcess();
        }
    });

    /// <summary>
    /// <c>SET_FEATURES</c>. The queue's ring features (EVENT_IDX, indirect, notify-on-empty) are applied
    /// when the ring next starts; front ends only change features of stopped rings.
    /// </summary>
    internal void SetAckedFeatures(ulong features) => OnRingThread(() => AckedFeatures = features);

    /// <summary>
    /// Installs a new memory table (on the ring's thread when it runs, between two callbacks) and
    /// re-translates the ring addresses. The device is not stopped: its next callback simply sees the
    /// new map, and its requests in flight keep the old one alive with their leases. A started ring
    /// whose rings no longer translate to the same place is marked broken: its memory moved
    /// underneath it.
    /// </summary>
    internal void SetMemory(GuestMemoryMap memory) => OnRingThread(() =>
    {
        _queue.Memory = memory;
        if (!_hasAddress)
        {
            return;
        }

        bool ok = TryTranslate(memory, _descUser, _availUser, _usedUser, out ulong desc, out ulong avail, out ulong used, out string? error);
        if (IsStarted)
        {
            if (!ok)
            {
                MarkBroken($"after the memory table changed, {error}");
            }
            else if (desc != _descGpa || avail != _availGpa || used != _usedGpa)
            {
                MarkBroken("the memory table changed the ring's guest physical addresses while it was started");
            }

            if (IsBroken)
            {
                OnBroken();
            }

            return;
        }

        _addressTranslated = ok;
        _descGpa = desc;
        _availGpa = avail;
        _usedGpa = used;
    });

    /// <summary>
    /// <c>SET_INFLIGHT_FD</c>: the area used from the next start (and at once by a started ring, which
    /// then tracks only what it pops from now on).
    /// </summary>
    internal void SetInflight(InflightQueue? inflight) => OnRingThread(() =>
    {
        _pendingInflight = inflight;
        if (IsStarted)
        {
            _inflight = inflight;
        }
    });

    /// <summary>
    /// Stops the ring if it is started (disconnect, reset, <c>GET_VRING_BASE</c>), keeping its
    /// configuration: the device's <see cref="IVirtioDevice.Stop"/> runs on the ring's thread, then
    /// the ring lets go of the thread (which ends if it serves no other started ring).
    /// </summary>
    internal void Stop()
    {
        if (Loop is not { } loop)
        {
            return;
        }

        loop.Invoke(StopOnLoop);
        Loop = null;
        _threads.Release(Index);
    }

    /// <summary>
    /// Returns the ring to its power-on state: stopped, disabled, unconfigured, no fds, no inflight
    /// area. The memory table is kept (the handler drops it separately on disconnect).
    /// </summary>
    internal void Reset()
    {
        Stop();
        _queue.Reset();
        IsEnabled = false;
        _call?.Dispose();
        _call = null;
        _err?.Dispose();
        _err = null;
        _inflight = null;
        _pendingInflight = null;
        _brokenReported = false;
        AckedFeatures = 0;
        Size = 0;
        _hasAddress = false;
        _addressTranslated = false;
        _base = 0;
    }

    /// <summary>Runs <paramref name="action"/> on the ring's thread when it is started, here otherwise.</summary>
    private void OnRingThread(Action action)
    {
        if (Loop is { } loop)
        {
            loop.Invoke(action);
        }
        else
        {
            action();
        }
    }

    private static bool TryTranslate(GuestMemoryMap memory, ulong descUser, ulong availUser, ulong usedUser, out ulong desc, out ulong avail, out ulong used, out string? error)
    {
        avail = 0;
        used = 0;
        error = null;
        if (!memory.TryTranslateUserAddr(descUser, out desc))
        {
            error = $"descriptor table address 0x{descUser:x} is not in any memory region";
        }
        else if (!memory.TryTranslateUserAddr(availUser, out avail))
        {
            error = $"avail ring address 0x{availUser:x} is not in any memory region";
        }
        else if (!memory.TryTranslateUserAddr(usedUser, out used))
        {
            error = $"used ring address 0x{usedUser:x} is not in any memory region";
        }

        return error is null;
    }

    /// <summary>Starts the ring (on its thread). Returns why it cannot start, or null.</summary>
    private string? StartOnLoop(EventFd kick)
    {
        if (Size == 0)
        {
            return "the queue size is not set (SET_VRING_NUM)";
        }

        if (!_hasAddress || !_addressTranslated)
        {
            return "the ring addresses are not set or not in the memory table (SET_VRING_ADDR)";
        }

        _queue.SetFeatures(AckedFeatures);
        _queue.NextAvail = _base;
        if (!_queue.TryConfigure(Size, _descGpa, _availGpa, _usedGpa, out string? error))
        {
            return error;
        }

        ushort usedIdx = _queue.NextUsed;
        _resubmit = Array.Empty<ushort>();
        _resubmitNext = 0;
        _inflight = null;
        _brokenReported = false;
        if (_pendingInflight is not null)
        {
            // With an inflight region the front end's base may be its used idx (after our crash it
            // cannot know better): what lies between the used idx and the last pop is exactly the
            // set of chains the region still flags, so continue after them.
            ushort[]? heads = _pendingInflight.Recover(Size, usedIdx, out string? problem);
            if (heads is null)
            {
                Log.InflightUnusable(Logger, Index, problem ?? "unknown");
            }
            else
            {
                _inflight = _pendingInflight;
                _resubmit = heads;
                _queue.NextAvail = (ushort)(usedIdx + heads.Length);

                // Publish avail_event for the corrected index (TryConfigure wrote the old one).
                _queue.EnableNotification();
                if (heads.Length > 0)
                {
                    Log.InflightResubmitting(Logger, Index, heads.Length, _queue.NextAvail);
                }
            }
        }

        // Attach first: an fd epoll refuses (not an eventfd) must not become the ring's kick fd, or
        // nobody would close it.
        try
        {
            AttachKick(kick);
        }
        catch (SysException e)
        {
            return $"the kick fd cannot be polled: {e.Message}";
        }

        _kick = kick;
        IsStarted = true;
        KickPending = false;
        Log.VringStarted(Logger, Index, Size, _queue.NextAvail, usedIdx, IsEnabled);
        if (_inflight is null && (ushort)(_queue.NextAvail - usedIdx) > Size)
        {
            // More chains in flight than the ring holds: the base is not one this ring ever had.
            MarkBroken($"vring base {_queue.NextAvail} is more than the queue size ahead of the used index {usedIdx}");
        }

        try
        {
            _device.Start(this);
        }
        catch (Exception e)
        {
            MarkBroken(e);
        }

        // Process once: kicks may have been left in the eventfd while no one listened, and
        // resubmitted chains need no kick at all.
        ScheduleProcess();
        return null;
    }

    /// <summary>Stops the ring (on its thread): the device stops first, then its fds and the kick go.</summary>
    private void StopOnLoop()
    {
        if (!IsStarted)
        {
            return;
        }

        try
        {
            _device.Stop(this);
        }
        catch (Exception e)
        {
            MarkBroken(e);
        }

        ReleaseDeviceFds();
        DetachKick();
        _kick?.Dispose();
        _kick = null;

        // Chains still waiting for resubmission stay flagged in the region and are found again at
        // the next start; NextAvail already counts them.
        _base = _queue.NextAvail;
        _resubmit = Array.Empty<ushort>();
        _resubmitNext = 0;
        IsStarted = false;
        KickPending = false;
        Log.VringStopped(Logger, Index, _base);
    }

    private void DisposeFds()
    {
        _kick?.Dispose();
        _kick = null;
        _call?.Dispose();
        _call = null;
        _err?.Dispose();
        _err = null;
    }
}
