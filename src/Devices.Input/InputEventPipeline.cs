// SPDX-License-Identifier: MIT
using System;
using System.Numerics;
using VirtioLoopback.Devices.Input.Evdev;

namespace VirtioLoopback.Devices.Input;

/// <summary>Where <see cref="InputEventPipeline"/> delivers events: the event queue's buffers.</summary>
internal interface IEventSink
{
    /// <summary>The most buffers the driver can ever offer at once (the queue size).</summary>
    int Capacity { get; }

    /// <summary>The buffers available now; each takes one event.</summary>
    int Available { get; }

    /// <summary>Writes one event into the next buffer and returns it to the driver.</summary>
    void Write(InputEvent inputEvent);
}

/// <summary>What <see cref="InputEventPipeline.Append"/> observed.</summary>
[Flags]
internal enum AppendResult
{
    /// <summary>Nothing to report.</summary>
    None = 0,

    /// <summary>The backlog was full: the oldest packet(s) were dropped.</summary>
    Overflowed = 1,

    /// <summary>
    /// A <c>SYN_DROPPED</c> gap just ended: the caller reads the device's state with
    /// <see cref="InputEventPipeline.LoadSourceState"/>.
    /// </summary>
    StateQueryNeeded = 2,
}

/// <summary>
/// The event path from the evdev node to the event queue: a bounded backlog of events in whole
/// <c>SYN_REPORT</c>-terminated packets, delivered only when the driver has buffers for a whole packet,
/// plus enough state to repair the driver's view after events were lost.
/// </summary>
/// <remarks>
/// <para>
/// Losses happen in two places: the kernel's evdev buffer (reported as <c>SYN_DROPPED</c>; the events up
/// to the next <c>SYN_REPORT</c> are discarded and the device's state is read back, as evdev clients
/// must do) and this backlog (the oldest whole packets are dropped, as evdev itself does). Either way
/// the pipeline keeps two views of the key, switch and absolute-axis state: the source's (what the
/// device did) and the driver's (what was delivered). Once the backlog drains, one synthetic packet
/// carries the difference, so no key stays stuck in the guest.
/// </para>
/// <para>Used by the event queue's thread only; nothing allocates after construction.</para>
/// </remarks>
internal sealed class InputEventPipeline
{
    /// <summary>The default backlog, in events.</summary>
    public const int DefaultCapacity = 2048;

    private const int KeyBytes = (InputEventCodes.KeyMax + 8) / 8;
    private const int SwitchBytes = (InputEventCodes.SwMax + 8) / 8;
    private const int TrackedAxes = InputEventCodes.AbsMtSlot;

    /// <summary>The largest resynchronisation packet: every key, switch and axis, and a report.</summary>
    private const int MaxResyncEvents = (KeyBytes * 8) + (SwitchBytes * 8) + TrackedAxes + 1;

    private readonly InputEvent[] _ring;
    private readonly int _mask;
    private int _head;
    private int _count;

    /// <summary>Events in complete packets: the first <c>_complete</c> events end with a report.</summary>
    private int _complete;

    private bool _discarding;
    private bool _queryAfterDiscard;
    private bool _resyncPending;

    private readonly byte[] _sourceKeys = new byte[KeyBytes];
    private readonly byte[] _guestKeys = new byte[KeyBytes];
    private readonly byte[] _sourceSwitches = new byte[SwitchBytes];
    private readonly byte[] _guestSwitches = new byte[SwitchBytes];
    private readonly int[] _sourceAbs = new int[TrackedAxes];
    private readonly int[] _guestAbs = new int[TrackedAxes];
    private ulong _absTracked;

    /// <summary>Creates a pipeline whose backlog holds <paramref name="capacity"/> events (rounded up to a power of two).</summary>
    public InputEventPipeline(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, MaxResyncEvents));
        _ring = new InputEvent[size];
        _mask = size - 1;
    }

    /// <summary>The backlog's capacity in events.</summary>
    public int Capacity => _ring.Length;

    /// <summary>Events waiting, including an unfinished packet.</summary>
    public int Count => _count;

    /// <summary>Events waiting in complete packets.</summary>
    public int CompleteCount => _complete;

    /// <summary>Whether a state repair packet will be queued once the backlog drains.</summary>
    public bool ResyncPending => _resyncPending;

    /// <summary>Packets dropped for lack of room since creation.</summary>
    public long DroppedPackets { get; private set; }

    /// <summary>Sets which absolute axes have tracked state (the device's non-multi-touch axes).</summary>
    public void SetAxes(InputDeviceInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        ulong tracked = 0;
        for (int axis = 0; axis < TrackedAxes; axis++)
        {
            if (info.TryGetAbsInfo(axis, out _))
            {
                tracked |= 1UL << axis;
            }
        }

        _absTracked = tracked;
    }

    /// <summary>Takes one event read from the device.</summary>
    public AppendResult Append(InputEvent e)
    {
        if (e.Type == InputEventCodes.EvSyn && e.Code == InputEventCodes.SynDropped)
        {
            // evdev lost events: drop the unfinished packet and everything up to the next report,
            // then read the device's state back (Documentation/input/event-codes.rst).
            DropOpenPacket();
            _discarding = true;
            _queryAfterDiscard = true;
            return AppendResult.None;
        }

        TrackSource(e);
        if (_discarding)
        {
            if (e.IsReport)
            {
                _discarding = false;
                if (_queryAfterDiscard)
                {
                    _queryAfterDiscard = false;
                    return AppendResult.StateQueryNeeded;
                }
            }

            return AppendResult.None;
        }

        AppendResult result = AppendResult.None;
        if (_count == _ring.Length)
        {
            result = AppendResult.Overflowed;
            _resyncPending = true;
            DroppedPackets++;
            if (_complete > 0)
            {
                Consume(FirstPacketLength());
            }
            else
            {
                // One packet fills the whole backlog: drop it and the rest of it still to come.
                DropOpenPacket();
                _discarding = !e.IsReport;
                return result;
            }
        }

        _ring[(_head + _count) & _mask] = e;
        _count++;
        if (e.IsReport)
        {
            _complete = _count;
        }

        return result;
    }

    /// <summary>
    /// Delivers whole packets while <paramref name="sink"/> has buffers for them; returns the events
    /// delivered. A packet larger than the whole queue can never fit, so it goes out in pieces.
    /// </summary>
    public int Deliver(IEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        int delivered = 0;
        while (true)
        {
            if (_complete == 0)
            {
                if (_count == 0 && _resyncPending && QueueResync())
                {
                    continue;
                }

                return delivered;
            }

            int length = FirstPacketLength();
            int available = sink.Available;
            if (length > available)
            {
                if (length <= sink.Capacity || available == 0)
                {
                    return delivered;
                }

                length = available;
            }

            for (int i = 0; i < length; i++)
            {
                InputEvent e = _ring[(_head + i) & _mask];
                sink.Write(e);
                TrackGuest(e);
            }

            Consume(length);
            delivered += length;
        }
    }

    /// <summary>Reads the device's current key, switch and axis state after a gap.</summary>
    public void LoadSourceState(IEvdevDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Array.Clear(_sourceKeys);
        Array.Clear(_sourceSwitches);
        if (device.GetKeyState(_sourceKeys) < 0)
        {
            Array.Clear(_sourceKeys);
        }

        if (device.GetSwitchState(_sourceSwitches) < 0)
        {
            Array.Clear(_sourceSwitches);
        }

        for (int axis = 0; axis < TrackedAxes; axis++)
        {
            if ((_absTracked & (1UL << axis)) != 0 && device.TryGetAbsInfo(axis, out InputAbsInfo info))
            {
                _sourceAbs[axis] = info.Value;
            }
        }

        _resyncPending = true;
    }

    /// <summary>The device disappeared: everything it held is released.</summary>
    public void SourceLost()
    {
        DropOpenPacket();
        _discarding = false;
        _queryAfterDiscard = false;
        Array.Clear(_sourceKeys);
        Array.Clear(_sourceSwitches);
        _resyncPending = true;
    }

    /// <summary>A driver (re)started the event queue: it knows nothing, so the backlog is stale.</summary>
    public void DriverStarted()
    {
        _head = 0;
        _count = 0;
        _complete = 0;
        _discarding = false;
        _queryAfterDiscard = false;
        Array.Clear(_guestKeys);
        Array.Clear(_guestSwitches);
        Array.Clear(_guestAbs);
        _resyncPending = true;
    }

    /// <summary>The length of the first complete packet, its report included.</summary>
    private int FirstPacketLength()
    {
        for (int i = 0; i < _complete; i++)
        {
            if (_ring[(_head + i) & _mask].IsReport)
            {
                return i + 1;
            }
        }

        return _complete;
    }

    private void Consume(int n)
    {
        _head = (_head + n) & _mask;
        _count -= n;
        _complete = Math.Max(0, _complete - n);
    }

    private void DropOpenPacket() => _count = _complete;

    /// <summary>Queues one packet that takes the driver's view to the source's; false when they agree.</summary>
    private bool QueueResync()
    {
        _resyncPending = false;
        int start = _count;
        for (int i = 0; i < KeyBytes; i++)
        {
            AddBitChanges(InputEventCodes.EvKey, i, _sourceKeys[i], _guestKeys[i]);
        }

        for (int i = 0; i < SwitchBytes; i++)
        {
            AddBitChanges(InputEventCodes.EvSw, i, _sourceSwitches[i], _guestSwitches[i]);
        }

        for (int axis = 0; axis < TrackedAxes; axis++)
        {
            if ((_absTracked & (1UL << axis)) != 0 && _sourceAbs[axis] != _guestAbs[axis])
            {
                Push(new InputEvent(InputEventCodes.EvAbs, (ushort)axis, _sourceAbs[axis]));
            }
        }

        if (_count == start)
        {
            return false;
        }

        Push(InputEvent.Report);
        _complete = _count;
        return true;
    }

    private void AddBitChanges(ushort type, int byteIndex, byte source, byte guest)
    {
        int diff = source ^ guest;
        while (diff != 0)
        {
            int bit = BitOperations.TrailingZeroCount(diff);
            diff &= diff - 1;
            Push(new InputEvent(type, (ushort)((byteIndex * 8) + bit), (source >> bit) & 1));
        }
    }

    private void Push(InputEvent e)
    {
        _ring[(_head + _count) & _mask] = e;
        _count++;
    }

    private void TrackSource(InputEvent e) => Track(e, _sourceKeys, _sourceSwitches, _sourceAbs);

    private void TrackGuest(InputEvent e) => Track(e, _guestKeys, _guestSwitches, _guestAbs);

    private void Track(InputEvent e, byte[] keys, byte[] switches, int[] abs)
    {
        switch (e.Type)
        {
            case InputEventCodes.EvKey when e.Code <= InputEventCodes.KeyMax:
                SetBit(keys, e.Code, e.Value != 0);
                break;
            case InputEventCodes.EvSw when e.Code <= InputEventCodes.SwMax:
                SetBit(switches, e.Code, e.Value != 0);
                break;
            case InputEventCodes.EvAbs when e.Code < TrackedAxes && (_absTracked & (1UL << e.Code)) != 0:
                abs[e.Code] = e.Value;
                break;
        }
    }

    private static void SetBit(byte[] bitmap, int bit, bool set)
    {
        if (set)
        {
            bitmap[bit / 8] |= (byte)(1 << (bit % 8));
        }
        else
        {
            bitmap[bit / 8] &= (byte)~(1 << (bit % 8));
        }
    }
}
