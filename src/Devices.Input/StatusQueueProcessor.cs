// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Input;

/// <summary>Receives the events the driver sends on the status queue.</summary>
internal interface IStatusSink
{
    /// <summary>Handles one <c>virtio_input_event</c> from the driver (LED or sound state).</summary>
    void OnStatusEvent(InputEvent inputEvent);
}

/// <summary>
/// Serves the status queue (virtio 1.2 §5.8.6.2): each chain's device-readable bytes hold one or more
/// 8-byte <c>virtio_input_event</c>s; each is handed to the sink and the chain completes with 0 bytes.
/// </summary>
/// <remarks>Status queue's thread only; no allocation per request.</remarks>
internal sealed class StatusQueueProcessor(ILogger logger)
{
    /// <summary>Pops and handles every available chain.</summary>
    public void Process(IVirtqueue queue, DescriptorChain chain, IStatusSink sink)
    {
        GuestMemoryMap memory = queue.Memory;
        bool pushed = false;
        queue.DisableNotification();
        while (!queue.IsBroken)
        {
            PopResult result = queue.PopNextInBatch(chain);
            if (result != PopResult.Popped)
            {
                break;
            }

            if (!ReadEvents(queue, memory, chain, sink))
            {
                break;
            }

            queue.PushUsed(chain.Head, 0);
            pushed = true;
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }
    }

    /// <summary>Streams the readable bytes through an 8-byte window; a trailing partial event is ignored.</summary>
    private bool ReadEvents(IVirtqueue queue, GuestMemoryMap memory, DescriptorChain chain, IStatusSink sink)
    {
        Span<byte> wire = stackalloc byte[InputEvent.WireSize];
        int filled = 0;
        int events = 0;
        foreach (ref readonly Descriptor d in chain.Readable)
        {
            if (d.Length == 0)
            {
                continue;
            }

            if (!memory.TryGetSpan(d.Address, d.Length, out Span<byte> source))
            {
                queue.MarkBroken("input: status buffer outside guest memory");
                return false;
            }

            while (!source.IsEmpty)
            {
                int n = Math.Min(source.Length, InputEvent.WireSize - filled);
                source[..n].CopyTo(wire[filled..]);
                source = source[n..];
                filled += n;
                if (filled == InputEvent.WireSize)
                {
                    filled = 0;
                    events++;
                    sink.OnStatusEvent(new InputEvent(
                        BinaryPrimitives.ReadUInt16LittleEndian(wire),
                        BinaryPrimitives.ReadUInt16LittleEndian(wire[2..]),
                        BinaryPrimitives.ReadInt32LittleEndian(wire[4..])));
                }
            }
        }

        if (events == 0 || filled != 0)
        {
            Log.ShortStatusBuffer(logger, chain.Head, chain.ReadableLength);
        }

        return true;
    }
}
