// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Input;

/// <summary>
/// The event queue's buffers the device holds: popped from the ring ahead of time, so the device
/// knows how many it has before it commits to delivering a packet, and used one event each.
/// </summary>
/// <remarks>
/// Only the buffers' guest addresses are kept (a span cannot outlive the batch). Arrays are sized
/// by the queue at construction; nothing allocates afterwards. Event queue's thread only.
/// </remarks>
internal sealed class EventBufferStash : IEventSink
{
    /// <summary>The most descriptors one 8-byte event may be spread over.</summary>
    private const int MaxFragments = InputEvent.WireSize;

    private readonly IVirtqueue _queue;
    private readonly DescriptorChain _chain;
    private readonly ushort[] _heads;
    private readonly ulong[] _addresses;
    private readonly uint[] _lengths;
    private readonly byte[] _fragments;
    private int _first;
    private int _count;
    private bool _pushed;

    public EventBufferStash(IVirtqueue queue, DescriptorChain chain)
    {
        _queue = queue;
        _chain = chain;
        int size = Math.Max(1, (int)queue.Size);
        _heads = new ushort[size];
        _fragments = new byte[size];
        _addresses = new ulong[size * MaxFragments];
        _lengths = new uint[size * MaxFragments];
    }

    /// <inheritdoc />
    public int Capacity => _heads.Length;

    /// <inheritdoc />
    public int Available => _count;

    /// <summary>Pops every buffer the driver offers now (until the stash is full).</summary>
    public void Refill()
    {
        while (!_queue.IsBroken)
        {
            if (_count == _heads.Length)
            {
                // Full: still publish how far the device has read, so that with EVENT_IDX the
                // driver's next refill kicks (a stale avail_event could silence it for a long time).
                _queue.EnableNotification();
                return;
            }

            PopResult result = _queue.TryPop(_chain);
            if (result == PopResult.Empty)
            {
                // Re-arm kicks, then look once more: the driver may have added buffers meanwhile.
                if (_queue.EnableNotification())
                {
                    continue;
                }

                return;
            }

            if (result != PopResult.Popped)
            {
                return;
            }

            Keep(_chain);
        }
    }

    /// <inheritdoc />
    public void Write(InputEvent inputEvent)
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("No event buffer is available.");
        }

        Span<byte> wire = stackalloc byte[InputEvent.WireSize];
        BinaryPrimitives.WriteUInt16LittleEndian(wire, inputEvent.Type);
        BinaryPrimitives.WriteUInt16LittleEndian(wire[2..], inputEvent.Code);
        BinaryPrimitives.WriteInt32LittleEndian(wire[4..], inputEvent.Value);
        WriteNext(wire);
    }

    /// <summary>Interrupts the driver if anything was returned since the last flush.</summary>
    public void Flush()
    {
        if (_pushed)
        {
            _pushed = false;
            _queue.NotifyIfNeeded();
        }
    }

    /// <summary>
    /// Returns every held buffer to the driver (the queue is stopping). The Linux driver does not
    /// look at the used length, so each carries a harmless empty <c>SYN_REPORT</c> rather than the
    /// stale event it last held.
    /// </summary>
    public void ReturnAll()
    {
        while (_count > 0 && !_queue.IsBroken)
        {
            Write(InputEvent.Report);
        }

        _count = 0;
        Flush();
    }

    private void Keep(DescriptorChain chain)
    {
        ReadOnlySpan<Descriptor> writable = chain.Writable;
        int slot = (_first + _count) % _heads.Length;
        int fragments = 0;
        uint covered = 0;
        foreach (ref readonly Descriptor d in writable)
        {
            if (covered >= InputEvent.WireSize || fragments == MaxFragments)
            {
                break;
            }

            if (d.Length == 0)
            {
                continue;
            }

            _addresses[(slot * MaxFragments) + fragments] = d.Address;
            _lengths[(slot * MaxFragments) + fragments] = Math.Min(d.Length, InputEvent.WireSize - covered);
            covered += _lengths[(slot * MaxFragments) + fragments];
            fragments++;
        }

        if (covered < InputEvent.WireSize)
        {
            // Too small for one event: a driver bug. Hand it back unused rather than stall on it.
            _queue.PushUsed(chain.Head, 0);
            _pushed = true;
            return;
        }

        _heads[slot] = chain.Head;
        _fragments[slot] = (byte)fragments;
        _count++;
    }

    private void WriteNext(ReadOnlySpan<byte> wire)
    {
        int slot = _first;
        GuestMemoryMap memory = _queue.Memory;
        int offset = 0;
        for (int f = 0; f < _fragments[slot]; f++)
        {
            uint length = _lengths[(slot * MaxFragments) + f];
            if (!memory.TryGetSpan(_addresses[(slot * MaxFragments) + f], length, out Span<byte> target))
            {
                _queue.MarkBroken("input: event buffer outside guest memory");
                _count = 0;
                return;
            }

            wire.Slice(offset, (int)length).CopyTo(target);
            offset += (int)length;
        }

        _queue.PushUsed(_heads[slot], InputEvent.WireSize);
        _pushed = true;
        _first = (_first + 1) % _heads.Length;
        _count--;
    }
}
