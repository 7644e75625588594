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
/// status) are held in order and completed on the device clock.
/// </summary>
public sealed partial class SoundLogic
{
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

        long now = _time.GetTimestamp();
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

            if (!Take(s, queue, chain, now, ref pushed))
            {
                return;
            }
        }

        if (s is not null && !Advance(s, queue, now, ref pushed))
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
    private bool Take(PcmStream? s, IVirtqueue queue, DescriptorChain chain, long now, ref bool pushed)
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
            Bridge(s, now);
        }

        s.Held.Append(data);
        return true;
    }

    /// <summary>
    /// A message arrived for a running stream that had none: the clock ran on meanwhile. Before the
    /// first message of a run the clock simply starts now; later the gap is an underrun (silence
    /// played) or an overrun (frames dropped), as on real hardware.
    /// </summary>
    private void Bridge(PcmStream s, long now)
    {
        long frequency = _time.TimestampFrequency;
        long allowed = s.AllowedBytes(now, frequency);
        if (s.Consumed == 0)
        {
            s.ClockStart = now;
            return;
        }

        long gap = allowed - s.Consumed;
        if (gap <= 0)
        {
            return;
        }

        s.Xruns++;
        s.XrunBytes += gap;
        try
        {
            if (s.Sink is not null)
            {
                s.Sink.WriteSilence(gap);
            }
            else
            {
                s.Source!.Skip(gap);
            }
        }
        catch (IOException e)
        {
            Fail(s, e);
        }

        s.Consumed = allowed;
    }

    /// <summary>Completes the held messages the clock has reached and arms the timer for the next.</summary>
    /// <returns>False when the queue broke.</returns>
    private bool Advance(PcmStream s, IVirtqueue queue, long now, ref bool pushed)
    {
        if (s.State is not (PcmState.Running or PcmState.Stopped))
        {
            s.Timer?.Disarm();
            return true;
        }

        long frequency = _time.TimestampFrequency;
        long until = s.State == PcmState.Stopped ? Math.Min(now, s.StoppedAt) : now;
        long allowed = s.AllowedBytes(until, frequency);
        while (s.Held.Count > 0)
        {
            DescriptorChain chain = s.Held.Peek(out uint data);
            if (s.Consumed + data > allowed)
            {
                break;
            }

            uint status = s.Failed ? SoundWire.StatusIoError : Transfer(s, queue.Memory, chain, data);
            if (status == uint.MaxValue)
            {
                queue.MarkBroken("sound: I/O message outside guest memory");
                return false;
            }

            s.Held.Drop();
            s.Consumed += data;
            s.MaxLate = Math.Max(s.MaxLate, until - s.TimeOf(s.Consumed, frequency));
            uint latency = (uint)Math.Min(s.Held.Bytes, uint.MaxValue);
            if (!Complete(queue, chain, status, s.Sink is null && status == SoundWire.StatusOk ? data : 0, latency, ref pushed))
            {
                return false;
            }
        }

        if (s.State == PcmState.Running && s.Held.Count > 0)
        {
            s.Held.Peek(out uint next);
            long due = s.TimeOf(s.Consumed + next, frequency);
            s.Timer?.Arm(TimeSpan.FromTicks(Math.Max(0, (long)((Int128)(due - now) * TimeSpan.TicksPerSecond / frequency)) + 1), TimeSpan.Zero);
        }
        else
        {
            s.Timer?.Disarm();
        }

        return true;
    }

    /// <summary>Plays a message's frames into the sink, or fills it from the source.</summary>
    /// <returns>The status, or <see cref="uint.MaxValue"/> when a buffer is outside guest memory.</returns>
    private uint Transfer(PcmStream s, GuestMemoryMap memory, DescriptorChain chain, uint data)
    {
        try
        {
            if (s.Sink is not null)
            {
                ulong skip = SoundWire.XferSize;
                foreach (ref readonly Descriptor d in chain.Readable)
                {
                    if (skip >= d.Length)
                    {
                        skip -= d.Length;
                        continue;
                    }

                    if (!memory.TryGetSpan(d.Address + skip, (uint)(d.Length - skip), out Span<byte> span))
                    {
                        return uint.MaxValue;
                    }

                    s.Sink.Write(span);
                    skip = 0;
                }
            }
            else
            {
                uint left = data;
                foreach (ref readonly Descriptor d in chain.Writable)
                {
                    if (left == 0)
                    {
                        break;
                    }

                    uint n = Math.Min(d.Length, left);
                    if (!memory.TryGetSpan(d.Address, n, out Span<byte> span))
                    {
                        return uint.MaxValue;
                    }

                    s.Source!.Read(span);
                    left -= n;
                }
            }

            return SoundWire.StatusOk;
        }
        catch (IOException e)
        {
            Fail(s, e);
            return SoundWire.StatusIoError;
        }
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

    /// <summary>Returns every held message unplayed (RELEASE, new parameters, a stopping queue).</summary>
    /// <returns>Whether anything was pushed.</returns>
    private static bool ReturnHeld(PcmStream s, IVirtqueue queue, uint status)
    {
        bool pushed = false;
        while (s.Held.Count > 0)
        {
            DescriptorChain chain = s.Held.Peek(out _);
            s.Held.Drop();
            if (!Complete(queue, chain, status, 0, 0, ref pushed))
            {
                s.Held.Clear();
                break;
            }
        }

        return pushed;
    }

    /// <summary>The sink or source failed: the stream's messages report I/O errors until the next PREPARE.</summary>
    private void Fail(PcmStream s, IOException e)
    {
        if (!s.Failed)
        {
            s.Failed = true;
            Log.EndpointFailed(_logger, s.Id, e.Message);
        }
    }

    /// <summary>A stream's run ended (RELEASE or reset): the sink's file is made complete and the run summarised.</summary>
    private void EndSession(PcmStream s)
    {
        if (s.State is PcmState.Initial or PcmState.ParamsSet or PcmState.Released)
        {
            return;
        }

        try
        {
            s.Sink?.Flush();
        }
        catch (IOException e)
        {
            Fail(s, e);
        }

        if (s.Params.FrameBytes > 0 && s.StartedAt != 0)
        {
            long frames = s.Consumed / s.Params.FrameBytes;
            double perMs = _time.TimestampFrequency / 1000.0;
            double wallMs = (_time.GetTimestamp() - s.StartedAt) / perMs;
            Log.SessionEnded(
                _logger, s.Id, frames, frames * 1000.0 / s.Params.Hertz, wallMs, s.MaxLate / perMs, s.Xruns, s.XrunBytes / s.Params.FrameBytes);
        }
    }
}
