// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Gpio.Host;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Gpio;

/// <summary>The event queue (virtio 1.2 §5.17.7): interrupts unmasked by buffers, fired by host edges.</summary>
public sealed partial class GpioLogic
{
    /// <summary>
    /// Returns the buffers owed back as INVALID, delivers what became due, then takes the new
    /// buffers: each unmasks its line (or comes straight back INVALID when the line's interrupt is not
    /// enabled, or when it is malformed or a second one for its line).
    /// </summary>
    private void ServeEvents(IVirtqueue queue, DescriptorChain chain)
    {
        bool pushed = false;
        foreach (GpioLine line in _lines)
        {
            if (!line.EventHeld)
            {
                continue;
            }

            if (line.ReturnInvalid || line.IrqType == GpioIrqType.None)
            {
                pushed |= ReturnEvent(line, queue, GpioWire.IrqStatusInvalid);
            }
            else if (IsDue(line))
            {
                pushed |= Deliver(line, queue);
            }
        }

        GuestMemoryMap memory = queue.Memory;
        Span<byte> request = stackalloc byte[GpioWire.IrqRequestSize];
        queue.DisableNotification();
        while (queue.PopNextInBatch(chain) == PopResult.Popped)
        {
            int n = ChainBytes.Gather(memory, chain.Readable, request);
            if (n < 0)
            {
                queue.MarkBroken("gpio: event buffer outside guest memory");
                return;
            }

            ushort index = BinaryPrimitives.ReadUInt16LittleEndian(request);
            BadRequest? bad = n < GpioWire.IrqRequestSize || chain.Writable.IsEmpty || chain.Writable[0].Length < GpioWire.IrqResponseSize
                ? BadRequest.ShortEventBuffer
                : index >= _lines.Length ? BadRequest.EventLineOutOfRange
                : _lines[index].EventHeld ? BadRequest.DuplicateEventBuffer
                : null;
            if (bad is { } why)
            {
                Bad(why, index, (uint)n);
                pushed |= PushStatus(queue, memory, chain.Head, chain.Writable.IsEmpty ? 0 : chain.Writable[0].Address, !chain.Writable.IsEmpty && chain.Writable[0].Length > 0, GpioWire.IrqStatusInvalid);
                continue;
            }

            GpioLine line = _lines[index];
            line.EventHeld = true;
            line.EventHead = chain.Head;
            line.StatusAddress = chain.Writable[0].Address;
            line.ReturnInvalid = false;
            if (line.IrqType == GpioIrqType.None)
            {
                // The spec: unmasked without being enabled, the buffer comes back INVALID.
                pushed |= ReturnEvent(line, queue, GpioWire.IrqStatusInvalid);
            }
            else if (IsDue(line))
            {
                pushed |= Deliver(line, queue);
            }
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }
    }

    /// <summary>The host line has edges: latch the ones the interrupt type wants, deliver if unmasked.</summary>
    private void TakeEdges(GpioLine line, IVirtqueue queue)
    {
        if (line.Host is not { } host)
        {
            return;
        }

        while (true)
        {
            int n = host.ReadEdges(_edges);
            if (n < 0)
            {
                // A line fd that fails would stay readable: stop watching it.
                Log.EdgeReadFailed(_logger, line.Index, Errno.Describe(-n));
                UnwatchEdges(line);
                return;
            }

            for (int i = 0; i < n; i++)
            {
                HostEdge e = _edges[i];
                if (line.LastLineSeqno != 0 && e.LineSeqno != line.LastLineSeqno + 1)
                {
                    Log.EdgesLost(_logger, line.Index, e.LineSeqno - line.LastLineSeqno - 1);
                }

                line.LastLineSeqno = e.LineSeqno;
                bool wanted = line.IrqType switch
                {
                    GpioIrqType.EdgeRising => e.Rising,
                    GpioIrqType.EdgeFalling => !e.Rising,
                    GpioIrqType.EdgeBoth => true,
                    _ => false,
                };
                if (wanted)
                {
                    if (!line.Latched)
                    {
                        line.EdgeTimestampNs = e.TimestampNs;
                    }

                    line.Latched = true;
                }
                else if (line.IrqType is GpioIrqType.LevelHigh or GpioIrqType.LevelLow)
                {
                    line.EdgeTimestampNs = e.TimestampNs;
                }
            }

            if (n < _edges.Length)
            {
                break;
            }
        }

        if (line.EventHeld && IsDue(line) && Deliver(line, queue))
        {
            queue.NotifyIfNeeded();
        }
    }

    /// <summary>
    /// Whether the interrupt fires now: a latched edge, or a level that is active (read from the host,
    /// so a level that went away while masked does not fire).
    /// </summary>
    private static bool IsDue(GpioLine line)
    {
        switch (line.IrqType)
        {
            case GpioIrqType.EdgeRising or GpioIrqType.EdgeFalling or GpioIrqType.EdgeBoth:
                return line.Latched;
            case GpioIrqType.LevelHigh or GpioIrqType.LevelLow:
                if (line.Host is not { } host || host.GetValue(out bool level) != 0)
                {
                    return false;
                }

                return level == (line.IrqType == GpioIrqType.LevelHigh);
            default:
                return false;
        }
    }

    /// <summary>Fires the line's interrupt: its held buffer returns VALID, which masks it again.</summary>
    private bool Deliver(GpioLine line, IVirtqueue queue)
    {
        line.Latched = false;
        if (!ReturnEvent(line, queue, GpioWire.IrqStatusValid))
        {
            return false;
        }

        long latency = (long)((ulong)Stopwatch.GetTimestamp() - line.EdgeTimestampNs);
        if (line.EdgeTimestampNs != 0 && latency >= 0 && Stopwatch.Frequency == 1_000_000_000)
        {
            _delivered++;
            _latencySumNs += latency;
            _latencyMaxNs = Math.Max(_latencyMaxNs, latency);
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.Interrupt(_logger, line.Index, line.EdgeTimestampNs, latency / 1000);
            }
        }

        line.EdgeTimestampNs = 0;
        return true;
    }

    /// <summary>Gives the line's held buffer back with <paramref name="status"/>.</summary>
    private static bool ReturnEvent(GpioLine line, IVirtqueue queue, byte status)
    {
        line.EventHeld = false;
        line.ReturnInvalid = false;
        return PushStatus(queue, queue.Memory, line.EventHead, line.StatusAddress, true, status);
    }

    private static bool PushStatus(IVirtqueue queue, GuestMemoryMap memory, ushort head, ulong statusAddress, bool hasStatus, byte status)
    {
        uint written = 0;
        if (hasStatus)
        {
            if (!memory.TryGetSpan(statusAddress, GpioWire.IrqResponseSize, out Span<byte> span))
            {
                queue.MarkBroken("gpio: event buffer outside guest memory");
                return false;
            }

            span[0] = status;
            written = GpioWire.IrqResponseSize;
        }

        queue.PushUsed(head, written);
        return true;
    }

    /// <summary>Disables the line's interrupt: forget the latch, send its buffer back INVALID.</summary>
    private void DisableIrq(GpioLine line)
    {
        if (line.IrqType == GpioIrqType.None)
        {
            return;
        }

        line.IrqType = GpioIrqType.None;
        line.Latched = false;
        UnwatchEdges(line);
        if (line.EventHeld)
        {
            line.ReturnInvalid = true;
            Wake(GpioWire.EventQueue);
        }
    }

    private void WatchEdges(GpioLine line)
    {
        if (line.WatchToken != 0 || line.Host is not { } host || _scheduler is null)
        {
            return;
        }

        line.WatchToken = NewToken(line.Index);
        line.LastLineSeqno = 0;
        _scheduler.Watch(line.WatchToken, host.Fd, GpioWire.EventQueue, EpollEvents.In);
    }

    private void UnwatchEdges(GpioLine line)
    {
        if (line.WatchToken != 0)
        {
            _scheduler?.Unwatch(line.WatchToken);
            line.WatchToken = 0;
        }
    }

    /// <summary>Releases the host line (unwatched first, so a stale readiness finds no token).</summary>
    private void ReleaseHost(GpioLine line)
    {
        UnwatchEdges(line);
        line.Host?.Dispose();
        line.Host = null;
    }
}
