// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.GuestMemory;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// Writes the device-writable part of a chain as one byte stream across descriptor boundaries
/// (data, then for example a virtio-blk status byte). <see cref="Written"/> is what to report in
/// <see cref="SplitQueue.PushUsed"/>. A mutable struct: keep it in a local and pass it by
/// reference. Does not allocate.
/// </summary>
public struct ChainWriter
{
    private ChainCursor _cursor;

    /// <summary>Starts writing <paramref name="chain"/>'s writable buffers in <paramref name="memory"/>.</summary>
    /// <param name="memory">The memory map the chain was popped with.</param>
    /// <param name="chain">A validated chain.</param>
    public ChainWriter(GuestMemoryMap memory, DescriptorChain chain)
    {
        _cursor = new ChainCursor(memory, chain, writable: true);
    }

    /// <summary>The bytes written (or skipped) so far: the position in the writable part.</summary>
    public readonly uint Written => _cursor.Position;

    /// <summary>The writable bytes left.</summary>
    public readonly uint Remaining => _cursor.Length - _cursor.Position;

    /// <summary>Whether a buffer was no longer inside guest memory; writing stopped there.</summary>
    public readonly bool IsFaulted => _cursor.IsFaulted;

    /// <summary>Writes as much of <paramref name="data"/> as fits; returns the number of bytes written.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int written = 0;
        while (written < data.Length && _cursor.TryNext(data.Length - written, out Span<byte> piece))
        {
            data.Slice(written, piece.Length).CopyTo(piece);
            written += piece.Length;
        }

        return written;
    }

    /// <summary>
    /// Writes all of <paramref name="data"/>; false (writing nothing) when it does not fit, or false
    /// after a partial write when memory faulted.
    /// </summary>
    public bool TryWriteExact(ReadOnlySpan<byte> data)
    {
        if ((uint)data.Length > Remaining)
        {
            return false;
        }

        return Write(data) == data.Length;
    }

    /// <summary>Writes one byte; false when no room is left.</summary>
    public bool TryWriteByte(byte value) => TryWriteExact([value]);

    /// <summary>Skips <paramref name="count"/> bytes (leaving them as they are); false (skipping nothing) when fewer remain.</summary>
    public bool TrySkip(uint count) => _cursor.TrySkip(count);

    /// <summary>
    /// The next contiguous piece of guest memory, at most <paramref name="maxLength"/> bytes, for the
    /// caller to fill (for example by <c>pread</c>); it counts as written. False at the end or on a fault.
    /// </summary>
    public bool TryGetNextSpan(int maxLength, out Span<byte> span) => _cursor.TryNext(maxLength, out span);
}
