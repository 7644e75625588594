// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Threading;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>Taking chains off the available ring and validating them.</summary>
public sealed partial class SplitQueue
{
    // Descriptor indices (the next field) are 16-bit, so no more entries of a table are reachable.
    private const uint MaxIndirectEntries = 65536;

    /// <summary>
    /// Pops the next available chain into <paramref name="chain"/> after validating it completely.
    /// </summary>
    /// <remarks>
    /// With EVENT_IDX and notifications enabled, an <see cref="PopResult.Empty"/> result has already
    /// published <c>avail_event</c> and re-checked the ring behind a full barrier, so the caller may
    /// wait for the next kick without losing a buffer. An unconfigured queue is always empty.
    /// Does not allocate unless the queue breaks.
    /// </remarks>
    /// <param name="chain">Receives the chain; buffers beyond its capacity make the queue broken.</param>
    public PopResult TryPop(DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (BrokenReason is not null)
        {
            return PopResult.Broken;
        }

        if (!IsReady)
        {
            return PopResult.Empty;
        }

        if (_nextAvail == _shadowAvailIdx)
        {
            if (!TryRefreshAvailIdx())
            {
                return PopResult.Broken;
            }

            if (_nextAvail == _shadowAvailIdx)
            {
                if (!EventIdx || !_notificationsEnabled)
                {
                    return PopResult.Empty;
                }

                // Ask for a kick once the driver passes what we consumed, then look again: the driver
                // may have published a buffer after our read but before seeing the new avail_event.
                if (!TryWriteAvailEvent())
                {
                    return PopResult.Broken;
                }

                // Full barrier (store avail_event, then load avail idx): store-load ordering needs
                // more than acquire/release; pairs with the driver's barrier between publishing
                // avail idx and reading avail_event (§2.7.10, virtqueue_kick_prepare).
                Interlocked.MemoryBarrier();
                if (!TryRefreshAvailIdx())
                {
                    return PopResult.Broken;
                }

                if (_nextAvail == _shadowAvailIdx)
                {
                    return PopResult.Empty;
                }
            }
        }

        ulong entry = AvailRing + SplitRing.AvailRingOffset + (2UL * (uint)(_nextAvail & (Size - 1)));
        if (!_memory.TryReadU16(entry, out ushort head))
        {
            return Fail("available ring is no longer inside guest memory");
        }

        if (head >= Size)
        {
            return Fail($"available ring entry {_nextAvail} names head {head}, not below the queue size {Size}");
        }

        if (!TryWalkChain(head, chain))
        {
            return PopResult.Broken;
        }

        _nextAvail++;
        _inFlight++;
        return PopResult.Popped;
    }

    /// <summary>
    /// Loads the chain starting at <paramref name="head"/> with the same validation as
    /// <see cref="TryPop"/> but without touching the available ring: for resubmitting requests the
    /// inflight region says were in flight. A failure marks the queue broken. The chain counts as
    /// in flight until pushed.
    /// </summary>
    public bool TryLoadChain(ushort head, DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (BrokenReason is not null || !IsReady)
        {
            return false;
        }

        if (head >= Size)
        {
            MarkBroken($"inflight head {head} is not below the queue size {Size}");
            return false;
        }

        if (!TryWalkChain(head, chain))
        {
            return false;
        }

        _inFlight++;
        return true;
    }

    /// <summary>
    /// Whether the driver has made buffers available that were not popped yet (reads the ring's idx).
    /// False when the queue is broken, not ready or the ring is unreachable.
    /// </summary>
    public bool HasAvailable()
    {
        if (BrokenReason is not null || !IsReady)
        {
            return false;
        }

        return _nextAvail != _shadowAvailIdx || (TryReadAvailIdx(out ushort idx) && idx != _nextAvail);
    }

    private bool TryReadAvailIdx(out ushort idx)
    {
        if (!_memory.TryGetSpan(AvailRing + SplitRing.AvailIdxOffset, sizeof(ushort), out Span<byte> span))
        {
            idx = 0;
            return false;
        }

        idx = BinaryPrimitives.ReadUInt16LittleEndian(span);

        // Acquire: the driver fills ring entries and descriptors before it publishes idx (its write
        // barrier, §2.7.13); our reads of them must not move before this read of idx.
        Volatile.ReadBarrier();
        return true;
    }

    private bool TryRefreshAvailIdx()
    {
        if (!TryReadAvailIdx(out ushort idx))
        {
            MarkBroken("available ring is no longer inside guest memory");
            return false;
        }

        // A driver can never be more than a ring's worth ahead; an index further on would make us
        // walk stale entries over and over (rust-vmm's AvailIter refuses it for the same reason).
        ushort ahead = (ushort)(idx - _nextAvail);
        if (ahead > Size)
        {
            MarkBroken($"avail index ran {ahead} ahead of the next entry {_nextAvail} (avail idx {idx}, queue size {Size})");
            return false;
        }

        _shadowAvailIdx = idx;
        return true;
    }

    private bool TryWriteAvailEvent()
    {
        if (!_memory.TryWriteU16(UsedRing + (ulong)SplitRing.AvailEventOffset(Size), _nextAvail))
        {
            MarkBroken("used ring is no longer inside guest memory");
            return false;
        }

        return true;
    }

    /// <summary>
    /// Walks and validates the chain at <paramref name="head"/> (below <see cref="Size"/>) into
    /// <paramref name="chain"/>. Each descriptor is read once into locals, so a driver rewriting the
    /// table meanwhile cannot make a checked value differ from the one used.
    /// </summary>
    private bool TryWalkChain(ushort head, DescriptorChain chain)
    {
        chain.Clear();
        chain.Head = head;

        if (!_memory.TryGetSpan(DescTable, (uint)SplitRing.DescriptorTableBytes(Size), out Span<byte> table))
        {
            return Broken("descriptor table is no longer inside guest memory");
        }

        // Every buffer takes a slot, so this bound also ends loops. §2.7.5.3.1 keeps a driver's
        // chain, indirect table included, within the queue size; but a device states its segment
        // limits (blk's seg_max) before the driver picks a ring, which may be smaller than the
        // largest the device offers. So an indirect chain may be as long as the chain holds (the
        // back end sizes it for its largest queue), as QEMU takes indirect tables up to 1024.
        int limit = Math.Min(Size, chain.Capacity);
        int hops = 0;
        uint entries = Size;
        uint index = head;
        bool indirect = false;

        // An indirect table that runs from one region into the next is read entry by entry.
        ulong tableGpa = 0;
        bool tableSpansRegions = false;
        Span<byte> copy = stackalloc byte[SplitRing.DescriptorSize];
        ulong total = 0;
        while (true)
        {
            if (index >= entries)
            {
                return Broken($"chain from head {head} links to descriptor {index}, outside its {(indirect ? "indirect table" : "descriptor table")} of {entries}");
            }

            scoped ReadOnlySpan<byte> desc;
            if (tableSpansRegions)
            {
                if (!_memory.TryRead(tableGpa + ((ulong)index * SplitRing.DescriptorSize), copy))
                {
                    return Broken($"indirect table 0x{tableGpa:x} is no longer inside guest memory");
                }

                desc = copy;
            }
            else
            {
                desc = table.Slice((int)index * SplitRing.DescriptorSize, SplitRing.DescriptorSize);
            }

            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(desc);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(desc[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(desc[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(desc[14..]);

            if ((flags & SplitRing.DescFlagIndirect) != 0)
            {
                string? error = CheckIndirect(indirect, index, address, length, flags);
                if (error is not null)
                {
                    return Broken(error);
                }

                tableSpansRegions = !_memory.TryGetSpan(address, length, out table);
                if (tableSpansRegions && !_memory.IsGuestMemory(address, length))
                {
                    return Broken($"indirect table 0x{address:x}+{length} of descriptor {index} is not inside guest memory");
                }

                tableGpa = address;
                indirect = true;
                limit = chain.Capacity;
                chain.IsIndirect = true;
                entries = length / SplitRing.DescriptorSize;
                index = 0;
                continue;
            }

            if (hops++ >= limit)
            {
                return Broken($"chain from head {head} has more than {limit} descriptors (too long or a loop)");
            }

            bool writable = (flags & SplitRing.DescFlagWrite) != 0;
            if (!writable && chain.HasWritable)
            {
                return Broken($"descriptor {index} is device-readable but follows a device-writable one (§2.7.4.2)");
            }

            total += length;
            if (total > uint.MaxValue)
            {
                return Broken($"chain from head {head} is longer than 4 GiB in total");
            }

            if (!TryAddBuffer(chain, index, address, length, writable))
            {
                return false;
            }

            if ((flags & SplitRing.DescFlagNext) == 0)
            {
                return true;
            }

            index = next;
        }
    }

    /// <summary>
    /// Adds descriptor <paramref name="index"/>'s buffer to the chain: whole when it lies inside one
    /// region, otherwise one piece per region when it runs through adjacent regions (libvhost-user
    /// splits such a buffer into iovecs the same way). A buffer that reaches a gap breaks the queue.
    /// </summary>
    private bool TryAddBuffer(DescriptorChain chain, uint index, ulong address, uint length, bool writable)
    {
        if (_memory.ContainsRange(address, length))
        {
            return chain.TryAdd(address, length, writable) || TooManyPieces(chain);
        }

        // (An empty buffer outside guest memory is no memory either: refused like a long one.)
        ulong gpa = address;
        uint left = length;
        do
        {
            ulong run = _memory.ContiguousLength(gpa);
            if (run == 0)
            {
                return Broken($"descriptor {index} buffer 0x{address:x}+{length} is not inside guest memory");
            }

            uint piece = (uint)Math.Min(run, left);
            if (!chain.TryAdd(gpa, piece, writable))
            {
                return TooManyPieces(chain);
            }

            gpa += piece;
            left -= piece;
        }
        while (left > 0);

        return true;
    }

    private bool TooManyPieces(DescriptorChain chain) =>
        Broken($"chain from head {chain.Head} spans memory regions in more than {chain.MaxPieces} pieces");

    /// <summary>The rules for an indirect descriptor (§2.7.5.3.1); null when it may be followed.</summary>
    private string? CheckIndirect(bool alreadyIndirect, uint index, ulong address, uint length, ushort flags)
    {
        if (!IndirectEnabled)
        {
            return $"descriptor {index} is indirect but VIRTIO_RING_F_INDIRECT_DESC was not negotiated";
        }

        if (alreadyIndirect)
        {
            return $"indirect descriptor {index} inside an indirect table (nested tables are not allowed)";
        }

        if ((flags & SplitRing.DescFlagNext) != 0)
        {
            return $"indirect descriptor {index} also has VIRTQ_DESC_F_NEXT set";
        }

        if (length == 0 || length % SplitRing.DescriptorSize != 0)
        {
            return $"indirect table 0x{address:x} length {length} is not a non-zero multiple of {SplitRing.DescriptorSize}";
        }

        if (length / SplitRing.DescriptorSize > MaxIndirectEntries)
        {
            return $"indirect table 0x{address:x} has {length / SplitRing.DescriptorSize} entries, more than {MaxIndirectEntries}";
        }

        return null;
    }
}
