// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Devices.Console.Endpoints;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Console;

/// <summary>The ports' data queues: the driver's bytes out to the peer, the peer's bytes in.</summary>
public sealed partial class ConsoleLogic
{
    /// <summary>Chains one call moves at most before it yields its thread (and the device's lock).</summary>
    private const int ChainsPerTurn = 64;

    private enum TxOutcome
    {
        Written,
        Blocked,
        Broken,
    }

    /// <summary>
    /// A transmit queue: writes each chain's bytes to the peer in order. A chain the peer cannot take
    /// whole is held (with its position) until the peer's fd is writable again; without a peer the
    /// bytes are dropped and the chain completes.
    /// </summary>
    private void Transmit(ConsolePort port, IVirtqueue queue, DescriptorChain chain)
    {
        GuestMemoryMap memory = queue.Memory;
        bool pushed = false;
        if (port.TxHeld)
        {
            TxOutcome held = WriteChain(port, queue, memory, chain);
            if (held != TxOutcome.Written)
            {
                return;
            }

            port.TxHeld = false;
            queue.PushUsed(chain.Head, 0);
            pushed = true;
        }

        queue.DisableNotification();
        for (int turn = 0; ; turn++)
        {
            if (turn == ChainsPerTurn)
            {
                Wake(ConsoleWire.TransmitQueue(port.Id));
                break;
            }

            if (queue.PopNextInBatch(chain) != PopResult.Popped)
            {
                if (port.HangupPending)
                {
                    port.HangupPending = false;
                    if (port.Endpoint.IsConnected)
                    {
                        PeerGone(port, 0);
                    }
                }

                break;
            }

            port.TxIndex = 0;
            port.TxOffset = 0;
            TxOutcome outcome = WriteChain(port, queue, memory, chain);
            if (outcome == TxOutcome.Broken)
            {
                return;
            }

            if (outcome == TxOutcome.Blocked)
            {
                port.TxHeld = true;
                break;
            }

            queue.PushUsed(chain.Head, 0);
            pushed = true;
        }

        Finish(queue, pushed);
    }

    /// <summary>Writes the chain's readable bytes from the port's saved position.</summary>
    private TxOutcome WriteChain(ConsolePort port, IVirtqueue queue, GuestMemoryMap memory, DescriptorChain chain)
    {
        ReadOnlySpan<Descriptor> buffers = chain.Readable;
        while (port.TxIndex < buffers.Length)
        {
            Descriptor d = buffers[port.TxIndex];
            uint left = d.Length - port.TxOffset;
            if (left == 0)
            {
                port.TxIndex++;
                port.TxOffset = 0;
                continue;
            }

            if (!port.Endpoint.IsConnected)
            {
                // Nobody listens: the rest of the chain goes nowhere, as on an unplugged line.
                port.BytesDropped += left;
                port.TxIndex++;
                port.TxOffset = 0;
                continue;
            }

            if (!memory.TryGetSpan(d.Address + port.TxOffset, left, out Span<byte> span))
            {
                queue.MarkBroken("console: transmit buffer outside guest memory");
                return TxOutcome.Broken;
            }

            IoResult result = port.Endpoint.Write(span);
            if (result.Status == IoStatus.Done && result.Bytes > 0)
            {
                port.TxOffset += (uint)result.Bytes;
                port.BytesToHost += result.Bytes;
                if (port.TxDropping)
                {
                    port.TxDropping = false;
                    Log.ConsoleOutputResumed(_logger, port.Id, port.BytesDropped);
                }

                continue;
            }

            if (result.Status == IoStatus.Closed)
            {
                PeerGone(port, result.Errno);
                continue;
            }

            if (!port.Endpoint.CanWatchWrite || port.TxDropping)
            {
                // A regular file cannot be waited for, and a console's stalled peer is not waited
                // for again until it takes data: what it refused is lost.
                port.BytesDropped += left;
                port.TxIndex++;
                port.TxOffset = 0;
                continue;
            }

            WatchTx(port);
            if (port.IsConsole)
            {
                StartStallTimer(port);
            }

            return TxOutcome.Blocked;
        }

        return TxOutcome.Written;
    }

    /// <summary>
    /// A receive queue: reads the peer's bytes into the driver's buffers, one chain per read burst.
    /// A popped chain waits (held) for data; without buffers the peer's fd is not watched.
    /// </summary>
    private void Receive(ConsolePort port, IVirtqueue queue, DescriptorChain chain)
    {
        if (!port.GuestOpen || !port.Endpoint.IsConnected || !port.Endpoint.CanRead)
        {
            UnwatchRx(port);
            return;
        }

        GuestMemoryMap memory = queue.Memory;
        bool pushed = false;
        queue.DisableNotification();
        for (int turn = 0; ; turn++)
        {
            if (turn == ChainsPerTurn)
            {
                Wake(ConsoleWire.ReceiveQueue(port.Id));
                break;
            }

            if (!port.RxHeld)
            {
                if (queue.PopNextInBatch(chain) != PopResult.Popped)
                {
                    // No buffer: stop watching the peer; the driver's kick brings us back.
                    UnwatchRx(port);
                    break;
                }

                port.RxHeld = true;
            }

            if (chain.WritableLength == 0)
            {
                // Nothing can be written into it; hand it back rather than spin on it.
                port.RxHeld = false;
                queue.PushUsed(chain.Head, 0);
                pushed = true;
                continue;
            }

            uint total = 0;
            IoResult last = IoResult.Moved(0);
            foreach (ref readonly Descriptor d in chain.Writable)
            {
                if (d.Length == 0)
                {
                    continue;
                }

                if (!memory.TryGetSpan(d.Address, d.Length, out Span<byte> span))
                {
                    queue.MarkBroken("console: receive buffer outside guest memory");
                    return;
                }

                last = port.Endpoint.Read(span);
                if (last.Status != IoStatus.Done)
                {
                    break;
                }

                total += (uint)last.Bytes;
                if (last.Bytes < span.Length)
                {
                    break;
                }
            }

            if (total > 0)
            {
                port.RxHeld = false;
                port.BytesToGuest += total;
                queue.PushUsed(chain.Head, total);
                pushed = true;
                if (last.Status == IoStatus.Closed)
                {
                    PeerGone(port, last.Errno);
                    break;
                }

                continue;
            }

            if (last.Status == IoStatus.Closed)
            {
                PeerGone(port, last.Errno);
            }
            else
            {
                WatchRx(port);
            }

            break;
        }

        Finish(queue, pushed);
    }
}
