// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// What the ring's thread does for it: kicks, the device's fds, scheduled passes, and breakage.
/// </summary>
/// <remarks>
/// <para>
/// A kick on a started ring that is disabled is not processed: the avail ring stays untouched and
/// the kick stays pending until <c>SET_VRING_ENABLE(1)</c>, which processes the ring. vhost-user.rst
/// asks a started-but-disabled ring to be "processed without side effects"; for blk, rng and input
/// every request has a side effect (or consumes entropy or events), so leaving the buffers in the
/// ring is the only side-effect-free processing. QEMU 7.2+ disables a ring just before
/// <c>GET_VRING_BASE</c>, and the buffers left then are picked up from the returned base.
/// </para>
/// <para>
/// A broken ring delivers no more device events (a level-triggered fd nobody reads would spin the
/// loop); its kicks are still drained so the driver's notifications cannot pile up.
/// </para>
/// </remarks>
public sealed partial class Vring
{
    // Loop-thread state: the kick's registration and the device's fds with their slots.
    private readonly List<(FileDescriptor Fd, int Slot)> _deviceFds = new();
    private EventFd? _attachedKick;
    private int _kickSlot = -1;

    /// <inheritdoc />
    void IQueueEvents.Add(FileDescriptor fd, ulong token, EpollEvents events)
    {
        ArgumentNullException.ThrowIfNull(fd);
        EventLoop loop = LoopOfCallback();
        int slot = loop.Register(this, fd, events, isKick: false, token);
        _deviceFds.Add((fd, slot));
        if (IsBroken)
        {
            loop.Detach(slot);
        }
    }

    /// <inheritdoc />
    void IQueueEvents.Remove(FileDescriptor fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        EventLoop loop = LoopOfCallback();
        for (int i = 0; i < _deviceFds.Count; i++)
        {
            if (_deviceFds[i].Fd == fd)
            {
                loop.Unregister(_deviceFds[i].Slot);
                _deviceFds.RemoveAt(i);
                return;
            }
        }
    }

    /// <summary>The kick eventfd is readable: drain it, then process the ring.</summary>
    internal void OnKick()
    {
        try
        {
            // Drain first: a kick that arrives while the device processes must wake us again.
            _attachedKick?.TryRead(out _);
        }
        catch (SysException e)
        {
            MarkBroken($"reading the kick eventfd failed: {e.Message}");
            DetachDeviceFds();
            return;
        }

        ProcessRing();
    }

    /// <summary>One pass of the device over the ring (after a kick, a start, an enable).</summary>
    internal void ProcessRing()
    {
        if (!IsStarted)
        {
            return;
        }

        if (IsBroken)
        {
            OnBroken();
            return;
        }

        if (!IsEnabled)
        {
            KickPending = true;
            return;
        }

        KickPending = false;
        try
        {
            _device.Process(this);
        }
        catch (Exception e)
        {
            MarkBroken(e);
        }

        if (IsBroken)
        {
            OnBroken();
        }
    }

    /// <summary>An fd the device registered became ready.</summary>
    internal void OnDeviceEvent(ulong token)
    {
        if (!IsStarted || IsBroken)
        {
            return;
        }

        try
        {
            _device.OnEvent(this, token);
        }
        catch (Exception e)
        {
            MarkBroken(e);
        }

        if (IsBroken)
        {
            OnBroken();
        }
    }

    /// <summary>Registers the kick fd on the ring's loop (ring starting).</summary>
    private void AttachKick(EventFd kick)
    {
        _kickSlot = Loop!.Register(this, kick.Handle, EpollEvents.In, isKick: true, 0);
        _attachedKick = kick;
    }

    /// <summary>Unregisters the kick fd (ring stopping or taking a new one); the caller closes it.</summary>
    private void DetachKick()
    {
        if (_kickSlot >= 0)
        {
            Loop!.Unregister(_kickSlot);
            _kickSlot = -1;
            _attachedKick = null;
        }
    }

    /// <summary>Processes the ring once the loop's current wake-up is handled.</summary>
    private void ScheduleProcess() => Loop?.Schedule(this);

    private void OnBroken()
    {
        // The queue may have broken itself inside TryPop/PushUsed; make sure it is reported.
        ReportBroken();
        DetachDeviceFds();
    }

    private void DetachDeviceFds()
    {
        foreach ((_, int slot) in _deviceFds)
        {
            Loop!.Detach(slot);
        }
    }

    /// <summary>
    /// After the device's <see cref="IVirtioDevice.Stop"/>: removes fds the device forgot, so none of
    /// them can wake a loop that no longer serves this ring.
    /// </summary>
    private void ReleaseDeviceFds()
    {
        if (_deviceFds.Count > 0)
        {
            Log.DeviceFdsLeftOver(Logger, Index, _deviceFds.Count);
        }

        foreach ((_, int slot) in _deviceFds)
        {
            Loop!.Unregister(slot);
        }

        _deviceFds.Clear();
    }

    private EventLoop LoopOfCallback()
    {
        EventLoop? loop = Loop;
        if (loop is null || !loop.IsLoopThread)
        {
            throw new InvalidOperationException($"Queue {Index}'s fds are registered from its own callbacks (Start, Process, OnEvent, Stop).");
        }

        return loop;
    }
}
