// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// One virtqueue of the device as vhost-user sets it up: a <see cref="SplitQueue"/>, its kick, call
/// and err eventfds, inflight tracking, and the ring state of vhost-user.rst ("Ring states"):
/// stopped or started, and independently enabled or disabled.
/// </summary>
/// <remarks>
/// <para>
/// While the ring is started, a thread of the back end serves it (an <see cref="EventLoop"/> the
/// ring shares with the other queues <see cref="QueueThreads"/> puts there): that thread alone
/// touches the queue, and runs the device's callbacks and every change the control thread makes.
/// A stopped ring has no thread; the control thread changes it directly. The members devices use
/// (<see cref="IVirtqueue"/>) run on the ring's thread; the hot path (pop, push, notify) does not
/// allocate.
/// </para>
/// <para>
/// The state machine lives in <c>Vring.Control.cs</c>: a ring starts when <c>SET_VRING_KICK</c>
/// brings a kick fd, stops on <c>GET_VRING_BASE</c> (keeping its indices), and is enabled by
/// <c>SET_VRING_ENABLE</c> or by <c>SET_FEATURES</c> without <c>VHOST_USER_F_PROTOCOL_FEATURES</c>.
/// What its thread does with kicks and device events is in <c>Vring.Dispatch.cs</c>.
/// </para>
/// </remarks>
public sealed partial class Vring : IVirtqueue, IQueueEvents, IDisposable
{
    private readonly SplitQueue _queue = new();
    private readonly IVirtioDevice _device;
    private readonly QueueThreads _threads;

    // Chains the inflight region says were in flight when the ring started, oldest first; TryPop
    // returns them before anything from the avail ring. Replaced at each start.
    private ushort[] _resubmit = Array.Empty<ushort>();
    private int _resubmitNext;

    // The inflight area used while the ring runs; null when tracking is off.
    private InflightQueue? _inflight;

    // The call and err eventfds; swapped on the ring's thread, read only there.
    private EventFd? _call;
    private EventFd? _err;

    // Whether the current breakage has been logged and signalled (reset at start).
    private bool _brokenReported;

    internal Vring(int index, IVirtioDevice device, QueueThreads threads, ILogger logger)
    {
        Index = index;
        _device = device;
        _threads = threads;
        Logger = logger;
    }

    /// <inheritdoc />
    public int Index { get; }

    /// <summary>The negotiated queue size (<c>SET_VRING_NUM</c>); 0 before it is set.</summary>
    public ushort Size { get; private set; }

    /// <summary>The current memory table. Take it once per callback: a memory change replaces it between callbacks.</summary>
    public GuestMemoryMap Memory => _queue.Memory;

    /// <summary>The virtio features the front end acknowledged (<c>SET_FEATURES</c>).</summary>
    public ulong AckedFeatures { get; private set; }

    /// <summary>Whether the ring is enabled (<c>SET_VRING_ENABLE</c>, or no protocol features).</summary>
    public bool IsEnabled { get; private set; }

    /// <summary>Whether the ring is broken (guest or device error); it is not processed until restarted.</summary>
    public bool IsBroken => _queue.IsBroken;

    /// <summary>Why the ring is broken, or null.</summary>
    public string? BrokenReason => _queue.BrokenReason;

    /// <summary>The back end's logger for vring events.</summary>
    public ILogger Logger { get; }

    /// <inheritdoc />
    public IQueueEvents Events => this;

    /// <summary>Whether the ring is started (it has a kick fd, addresses and a base, and a thread).</summary>
    internal bool IsStarted { get; private set; }

    /// <summary>A kick arrived while the ring was disabled (ring thread).</summary>
    internal bool KickPending { get; set; }

    /// <inheritdoc />
    public DescriptorChain CreateChain() => new(Math.Max((int)Size, _device.MaxQueueSize));

    /// <summary>
    /// Takes the next request: first the chains the inflight region says were in flight when the
    /// ring started (oldest first), then the avail ring. Records the pop in the inflight region.
    /// </summary>
    /// <returns><see cref="PopResult.Broken"/> once the ring is broken (the reason is logged once).</returns>
    public PopResult TryPop(DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (_resubmitNext < _resubmit.Length)
        {
            ushort head = _resubmit[_resubmitNext++];
            if (!_queue.TryLoadChain(head, chain))
            {
                ReportBroken();
                return PopResult.Broken;
            }

            if (Logger.IsEnabled(LogLevel.Trace))
            {
                Log.ChainResubmitted(Logger, Index, head);
            }

            return PopResult.Popped;
        }

        PopResult result = _queue.TryPop(chain);
        if (result == PopResult.Popped)
        {
            _inflight?.OnPop(chain.Head);
            if (Logger.IsEnabled(LogLevel.Trace))
            {
                Log.ChainPopped(Logger, Index, chain.Head, chain.ReadableLength, chain.WritableLength);
            }
        }
        else if (result == PopResult.Broken)
        {
            ReportBroken();
        }

        return result;
    }

    /// <summary>
    /// Returns the chain <paramref name="head"/> to the driver with <paramref name="written"/> bytes
    /// written into its writable buffers, keeping the inflight region in step. Does nothing on a
    /// broken ring.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="head"/> is not below <see cref="Size"/>.</exception>
    public void PushUsed(ushort head, uint written)
    {
        InflightQueue? inflight = _inflight;
        inflight?.BeforePush(head);
        _queue.PushUsed(head, written);
        inflight?.AfterPush(head, _queue.NextUsed);
        if (Logger.IsEnabled(LogLevel.Trace))
        {
            Log.ChainPushed(Logger, Index, head, written);
        }
    }

    /// <summary>
    /// Signals the call eventfd if the driver wants an interrupt now (EVENT_IDX, the avail flags,
    /// NOTIFY_ON_EMPTY). Call once per batch of pushes. Without a call fd it does nothing.
    /// </summary>
    public void NotifyIfNeeded()
    {
        EventFd? call = _call;
        if (call is null || !_queue.NeedsNotification())
        {
            return;
        }

        try
        {
            call.Signal();
        }
        catch (SysException e)
        {
            MarkBroken($"signalling the call eventfd failed: {e.Message}");
        }
    }

    /// <summary>Asks the driver to kick again after <see cref="DisableNotification"/>.</summary>
    /// <returns>True when buffers arrived meanwhile: process them before waiting for a kick.</returns>
    public bool EnableNotification() => _queue.EnableNotification();

    /// <summary>Asks the driver not to kick while the device drains the ring.</summary>
    public void DisableNotification() => _queue.DisableNotification();

    /// <summary>
    /// Stops processing this ring (the other rings go on): logs <paramref name="reason"/> once and
    /// signals the err eventfd if the front end gave one. The ring works again after a restart.
    /// </summary>
    public void MarkBroken(string reason)
    {
        _queue.MarkBroken(reason);
        ReportBroken();
    }

    /// <summary>Stops the ring (ending its thread if no other ring uses it) and closes its fds.</summary>
    public void Dispose()
    {
        Stop();
        DisposeFds();
    }

    /// <summary>Marks the ring broken because device code threw <paramref name="e"/>.</summary>
    internal void MarkBroken(Exception e)
    {
        Log.DeviceThrew(Logger, e, Index);
        MarkBroken($"device error: {e.GetType().Name}: {e.Message}");
    }

    /// <summary>Logs and signals the breakage once (the queue may have broken itself during a pop).</summary>
    internal void ReportBroken()
    {
        if (_brokenReported || !_queue.IsBroken)
        {
            return;
        }

        _brokenReported = true;
        Log.VringBroken(Logger, Index, _queue.BrokenReason ?? "unknown");
        try
        {
            _err?.Signal();
        }
        catch (SysException e)
        {
            Log.ErrSignalFailed(Logger, e, Index);
        }
    }
}
