// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.IO;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Sound;

/// <summary>
/// The transmit and receive queues: each stream's I/O messages (an xfer header, the frames, a
/// status) are held in order; their frames go to (or come from) the endpoint as fast as it takes
/// them, and each message completes when the endpoint's clock has played (or captured) its last frame.
/// </summary>
public sealed partial class SoundLogic
{
    /// <summary>The shortest timer: a stream never polls its endpoint more often than this.</summary>
    private static readonly TimeSpan MinWait = TimeSpan.FromMicroseconds(200);

    private void ServiceData(int index, IVirtqueue queue, DescriptorChain scratch)
    {
        PcmStream? s = null;
        foreach (PcmStream candidate in _streams)
        {
            if (candidate.DataQueue == index)
            {
                s = candidate;
            }
        }

        bool pushed = false;
        if (s is not null && s.ReturnPending)
        {
            s.ReturnPending = false;
            pushed |= ReturnHeld(s, queue, SoundWire.StatusOk);
        }

        queue.DisableNotification();
        while (true)
        {
            if (s is not null && s.Held.IsFull)
            {
                queue.MarkBroken("sound: more I/O messages outstanding than ring entries");
                return;
            }

            DescriptorChain chain = s?.Held.Next() ?? scratch;
            if (queue.PopNextInBatch(chain) != PopResult.Popped)
            {
                break;
            }

            if (!Take(s, queue, chain, ref pushed))
            {
                return;
            }
        }

        if (s is not null && !Run(s, queue, ref pushed))
        {
            return;
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }
    }

    /// <summary>Checks a new message: held when it belongs to a stream that takes messages, answered at once otherwise.</summary>
    /// <returns>False when the queue broke.</returns>
    private bool Take(PcmStream? s, IVirtqueue queue, DescriptorChain chain, ref bool pushed)
    {
        Span<byte> xfer = stackalloc byte[SoundWire.XferSize];
        int got = ChainBytes.Gather(queue.Memory, chain.Readable, xfer);
        if (got < 0)
        {
            queue.MarkBroken("sound: I/O message outside guest memory");
            return false;
        }

        if (chain.WritableLength < SoundWire.PcmStatusSize)
        {
            // Nowhere to put a status: the message goes back untouched.
            Bad("I/O message without room for its status", chain.ReadableLength);
            queue.PushUsed(chain.Head, 0);
            pushed = true;
            return true;
        }

        bool output = queue.Index == SoundWire.TxQueue;
        uint data = output ? chain.ReadableLength - (uint)Math.Min(got, SoundWire.XferSize) : chain.WritableLength - SoundWire.PcmStatusSize;
        uint status = SoundWire.StatusOk;
        if (got < SoundWire.XferSize || s is null || BinaryPrimitives.ReadUInt32LittleEndian(xfer) != (uint)s.Id)
        {
            status = Bad("I/O message for a stream that is not on this queue", chain.ReadableLength);
        }
        else if (!s.TakesMessages)
        {
            status = Bad("I/O message for a stream that is not prepared", chain.ReadableLength);
        }
        else if (data % (uint)s.Params.FrameBytes != 0)
        {
            status = Bad("I/O message that is not whole frames", chain.ReadableLength);
        }
        else if (s.Failed)
        {
            status = SoundWire.StatusIoError;
        }

        if (status != SoundWire.StatusOk || data == 0)
        {
            return Complete(queue, chain, status, 0, 0, ref pushed);
        }

        if (s!.State == PcmState.Running && s.Held.Count == 0)
        {
            Bridge(s);
        }

        s.Held.Append(data);
        return true;
    }

    /// <summary>
    /// A message arrived for a running stream that held none: the endpoint's clock ran on meanwhile.
    /// A playback sink plays that gap as silence (an underrun); a capture source drops the frames it
    /// captured meanwhile (an overrun). Before the first frame of a run, the clock just starts later.
    /// </summary>
    private void Bridge(PcmStream s)
    {
        try
        {
            long bridged = s.Sink is { } sink ? sink.Underrun(Math.Max(0, sink.Position() - s.Transferred)) : s.Source!.Discard();
            if (bridged > 0)
            {
                s.Xruns++;
                s.XrunBytes += bridged;
                s.Transferred += bridged;
                s.Completed += bridged;
            }
        }
        catch (IOException e)
        {
            Fail(s, e);
        }
    }

    /// <summary>
    /// Moves frames between the held messages and the endpoint, completes the messages its clock has
    /// reached, and arms the timer for the next one.
    /// </summary>
    /// <returns>False when the queue broke.</returns>
    private bool Run(PcmStream s, IVirtqueue queue, ref bool pushed)
    {
        if (s.Failed)
        {
            pushed |= ReturnHeld(s, queue, SoundWire.StatusIoError);
        }

        if (s.State != PcmState.Running || s.Held.Count == 0)
        {
            s.Timer?.Disarm();
            return true;
        }

        GuestMemoryMap memory = queue.Memory;
        long position;
        try
        {
            if (!Transfer(s, memory))
            {
                queue.MarkBroken("sound: I/O message outside guest memory");
                return false;
            }

            position = s.Sink is { } sink ? Math.Min(s.Transferred, sink.Position()) : s.Transferred;
        }
        catch (IOException e)
        {
            Fail(s, e);
            pushed |= ReturnHeld(s, queue, SoundWire.StatusIoError);
            s.Timer?.Disarm();
            return true;
        }

        while (s.Held.Count > 0)
        {
            DescriptorChain chain = s.Held.Peek(out uint data);
            long end = s.Completed + data;
            if (end > position)
            {
                break;
            }

            s.MaxLateBytes = Math.Max(s.MaxLateBytes, (s.Sink is null ? s.Endpoint.Position() : position) - end);
            s.Held.Drop();
            s.Completed = end;
            uint latency = (uint)Math.Min(s.Held.Bytes, uint.MaxValue);
            if (!Complete(queue, chain, SoundWire.StatusOk, s.Sink is null ? data : 0, latency, ref pushed))
            {
                return false;
            }
        }

        if (s.Held.Count == 0)
        {
            s.Timer?.Disarm();
            return true;
        }

        s.Held.Peek(out uint next);
        TimeSpan wait = s.Endpoint.Until(s.Completed + next);
        if (wait == System.Threading.Timeout.InfiniteTimeSpan)
        {
            s.Timer?.Disarm();
        }
        else
        {
            s.Timer?.Arm(wait < MinWait ? MinWait : wait, TimeSpan.Zero);
        }

        return true;
    }

    /// <summary>Hands the held messages' frames to the sink, or fills them from the source, as far as it goes now.</summary>
    /// <returns>False when a buffer is outside guest memory.</returns>
    private static bool Transfer(PcmStream s, GuestMemoryMap memory)
    {
        long skip = s.Transferred - s.Completed;
        for (int i = 0; i < s.Held.Count; i++)
        {
            DescriptorChain chain = s.Held.Peek(i, out uint data);
            if (skip >= data)
            {
                skip -= data;
                continue;
            }

            // Playback frames follow the xfer header in the readable part; capture frames lead the writable part.
            ReadOnlySpan<Descriptor> buffers = s.Sink is not null ? chain.Readable : chain.Writable;
            long offset = (s.Sink is not null ? SoundWire.XferSize : 0) + skip;
            long left = data - skip;
            foreach (ref readonly Descriptor d in buffers)
            {
                if (left == 0)
                {
                    break;
                }

                if (offset >= d.Length)
                {
                    offset -= d.Length;
                    continue;
                }

                uint n = (uint)Math.Min(d.Length - offset, left);
                if (!memory.TryGetSpan(d.Address + (ulong)offset, n, out Span<byte> span))
                {
                    return false;
                }

                int moved = s.Sink is { } sink ? sink.Write(span) : s.Source!.Read(span);
                s.Transferred += moved;
                left -= moved;
                if (moved < n)
                {
                    return true;
                }

                offset = 0;
            }

            skip = 0;
        }

        return true;
    }

    /// <summary>Writes the status at the end of the writable part and returns the message.</summary>
    /// <returns>False when the queue broke.</returns>
    private static bool Complete(IVirtqueue queue, DescriptorChain chain, uint status, uint data, uint latency, ref bool pushed)
    {
        Span<byte> bytes = stackalloc byte[SoundWire.PcmStatusSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, status);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], latency);
        if (ChainBytes.ScatterAt(queue.Memory, chain.Writable, chain.WritableLength - SoundWire.PcmStatusSize, bytes) < 0)
        {
            queue.MarkBroken("sound: I/O status outside guest memory");
            return false;
        }

        queue.PushUsed(chain.Head, data + SoundWire.PcmStatusSize);
        pushed = true;
        return true;
    }

    /// <summary>Returns every held message unplayed (RELEASE, new parameters, a failure, a stopping queue).</summary>
    /// <returns>Whether anything was pushed.</returns>
    private static bool ReturnHeld(PcmStream s, IVirtqueue queue, uint status)
    {
        bool pushed = false;
        while (s.Held.Count > 0)
        {
            DescriptorChain chain = s.Held.Peek(out uint data);
            s.Held.Drop();
            s.Completed += data;
            if (!Complete(queue, chain, status, 0, 0, ref pushed))
            {
                s.Held.Clear();
                break;
            }
        }

        s.Transferred = s.Completed;
        return pushed;
    }

    /// <summary>The endpoint failed: the stream's messages report I/O errors until the next PREPARE.</summary>
    private void Fail(PcmStream s, IOException e)
    {
        if (!s.Failed)
        {
            s.Failed = true;
            Log.EndpointFailed(_logger, s.Id, e.Message);
        }
    }

    /// <summary>A stream's run ended (RELEASE or reset): the endpoint lets go of it and the run is summarised.</summary>
    private void EndSession(PcmStream s)
    {
        if (s.State is PcmState.Initial or PcmState.ParamsSet or PcmState.Released)
        {
            return;
        }

        try
        {
            s.Endpoint.End();
        }
        catch (IOException e)
        {
            Fail(s, e);
        }

        if (s.Params.FrameBytes > 0 && s.StartedAt != 0)
        {
            int frame = s.Params.FrameBytes;
            double perMs = _time.TimestampFrequency / 1000.0;
            double wallMs = (_time.GetTimestamp() - s.StartedAt) / perMs;
            double lateMs = s.MaxLateBytes * 1000.0 / s.Params.BytesPerSecond;
            Log.SessionEnded(_logger, s.Id, s.Completed / frame, s.Completed * 1000.0 / s.Params.BytesPerSecond, wallMs, lateMs, s.Xruns, s.XrunBytes / frame, s.Endpoint.Xruns);
        }
    }
}
