// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Common;

/// <summary>
/// Copies between a chain's buffers and a small local buffer: request headers that the driver may
/// split over several descriptors, and responses that must land in the writable part. No allocation.
/// </summary>
public static class ChainBytes
{
    /// <summary>
    /// Copies up to <c>destination.Length</c> bytes from the start of <paramref name="buffers"/>.
    /// </summary>
    /// <returns>The bytes copied, or -1 when a buffer is outside guest memory.</returns>
    public static int Gather(GuestMemoryMap memory, ReadOnlySpan<Descriptor> buffers, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(memory);
        int copied = 0;
        foreach (ref readonly Descriptor d in buffers)
        {
            if (copied == destination.Length)
            {
                break;
            }

            uint n = (uint)Math.Min(d.Length, destination.Length - copied);
            if (n == 0)
            {
                continue;
            }

            if (!memory.TryGetSpan(d.Address, n, out Span<byte> span))
            {
                return -1;
            }

            span.CopyTo(destination[copied..]);
            copied += (int)n;
        }

        return copied;
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="buffers"/> from their start, as far as they reach.</summary>
    /// <returns>The bytes copied, or -1 when a buffer is outside guest memory.</returns>
    public static int Scatter(GuestMemoryMap memory, ReadOnlySpan<Descriptor> buffers, ReadOnlySpan<byte> source) =>
        ScatterAt(memory, buffers, 0, source);

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="buffers"/> starting <paramref name="offset"/>
    /// bytes into them (the offset counts across buffers), as far as they reach.
    /// </summary>
    /// <returns>The bytes copied, or -1 when a buffer is outside guest memory.</returns>
    public static int ScatterAt(GuestMemoryMap memory, ReadOnlySpan<Descriptor> buffers, ulong offset, ReadOnlySpan<byte> source)
    {
        ArgumentNullException.ThrowIfNull(memory);
        int copied = 0;
        foreach (ref readonly Descriptor d in buffers)
        {
            if (copied == source.Length)
            {
                break;
            }

            if (offset >= d.Length)
            {
                offset -= d.Length;
                continue;
            }

            uint n = (uint)Math.Min(d.Length - offset, (ulong)(source.Length - copied));
            if (!memory.TryGetSpan(d.Address + offset, n, out Span<byte> span))
            {
                return -1;
            }

            source.Slice(copied, (int)n).CopyTo(span);
            copied += (int)n;
            offset = 0;
        }

        return copied;
    }
}
