// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.GuestMemory;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// Reads the device-readable part of a chain as one byte stream across descriptor boundaries
/// (for example a virtio-blk request header). A mutable struct: keep it in a local and pass it by
/// reference. Does not allocate.
/// </summary>
public struct ChainReader
{
    private ChainCursor _cursor;

    /// <summary>Starts reading <paramref name="chain"/>'s readable buffers in <paramref name="memory"/>.</summary>
    /// <param name="memory">The memory map the chain was popped with.</param>
    /// <param name="chain">A validated chain.</param>
    public ChainReader(GuestMemoryMap memory, DescriptorChain chain)
    {
        _cursor = new ChainCursor(memory, chain, writable: false);
    }

    /// <summary>The bytes read (or skipped) so far.</summary>
    public readonly uint Position => _cursor.Position;

    /// <summary>The bytes left to read.</summary>
    public readonly uint Remaining => _cursor.Length - _cursor.Position;

    /// <summary>Whether a buffer was no longer inside guest memory; reading stopped there.</summary>
    public readonly bool IsFaulted => _cursor.IsFaulted;

    /// <summary>Copies up to <paramref name="destination"/>'s length; returns the number of bytes copied.</summary>
    public int Read(Span<byte> destination)
    {
        int copied = 0;
        while (copied < destination.Length && _cursor.TryNext(destination.Length - copied, out Span<byte> piece))
        {
            piece.CopyTo(destination[copied..]);
            copied += piece.Length;
        }

        return copied;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> completely; false (reading nothing) when fewer bytes remain,
    /// or false after a partial read when memory faulted.
    /// </summary>
    public bool TryReadExact(Span<byte> destination)
    {
        if ((uint)destination.Length > Remaining)
        {
            return false;
        }

        return Read(destination) == destination.Length;
    }

    /// <summary>Skips <paramref name="count"/> bytes; false (skipping nothing) when fewer remain.</summary>
    public bool TrySkip(uint count) => _cursor.TrySkip(count);

    /// <summary>
    /// The next contiguous piece of guest memory, at most <paramref name="maxLength"/> bytes, for
    /// zero-copy consumers; the reader moves past it. False at the end or on a fault.
    /// </summary>
    public bool TryGetNextSpan(int maxLength, out ReadOnlySpan<byte> span)
    {
        bool ok = _cursor.TryNext(maxLength, out Span<byte> piece);
        span = piece;
        return ok;
    }
}
