// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Threading;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// One queue's area of the shared inflight region (<see cref="InflightLayout"/>): records which
/// chains were popped but not yet returned, so that after a back-end crash or a front-end
/// reconnect they can be handed to the device again, oldest first.
/// </summary>
/// <remarks>
/// The front end keeps the memfd alive across our death, so every update is ordered for a reader
/// that looks after we stopped at an arbitrary instruction: a chain's counter is written before its
/// inflight flag, and a used-ring push is bracketed by <c>last_batch_head</c> (before) and the
/// flag/<c>used_idx</c> updates (after), which is what lets <see cref="Recover"/> repair a torn batch.
/// Owned by the ring's thread while the ring runs; the control thread touches it only through
/// <see cref="EventLoop.Invoke"/>.
/// </remarks>
internal sealed class InflightQueue
{
    private readonly MappedMemory _mapping;
    private readonly ulong _offset;
    private readonly int _length;
    private readonly ushort _capacity;

    // The counter the next popped chain gets; continues above every counter found at recovery so the
    // resubmission order stays meaningful across several crashes.
    private ulong _nextCounter = 1;

    public InflightQueue(MappedMemory mapping, ulong offset, ushort capacity)
    {
        _mapping = mapping;
        _offset = offset;
        _capacity = capacity;
        _length = InflightLayout.QueueRegionSize(capacity);
    }

    /// <summary>The number of descriptor states the area holds (the region's queue size).</summary>
    public ushort Capacity => _capacity;

    private Span<byte> Area => _mapping.GetSpan(_offset, _length);

    /// <summary>
    /// Prepares the area for a ring of <paramref name="ringSize"/> whose used ring's idx is
    /// <paramref name="ringUsedIdx"/>: repairs a batch torn by a crash between the used-ring update and
    /// the inflight update, then returns the heads still in flight, sorted by counter.
    /// </summary>
    /// <returns>Null when the area cannot track this ring (then tracking is off); otherwise the heads.</returns>
    public ushort[]? Recover(ushort ringSize, ushort ringUsedIdx, out string? problem)
    {
        Span<byte> area = Area;
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(area[InflightLayout.VersionOffset..]);
        ushort descNum = BinaryPrimitives.ReadUInt16LittleEndian(area[InflightLayout.DescNumOffset..]);
        if (version == 0)
        {
            // Never used (a zeroed region, not one we created): claim it.
            area.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(area[InflightLayout.VersionOffset..], InflightLayout.Version);
            BinaryPrimitives.WriteUInt16LittleEndian(area[InflightLayout.DescNumOffset..], _capacity);
            BinaryPrimitives.WriteUInt16LittleEndian(area[InflightLayout.UsedIdxOffset..], ringUsedIdx);
            descNum = _capacity;
        }

        // The header is shared memory the front end could have scribbled on: trust it only within
        // the area we sized ourselves.
        if (descNum > _capacity || descNum < ringSize)
        {
            problem = $"inflight area holds {descNum} descriptors (room for {_capacity}), ring size is {ringSize}";
            return null;
        }

        ushort usedIdx = BinaryPrimitives.ReadUInt16LittleEndian(area[InflightLayout.UsedIdxOffset..]);
        if (usedIdx != ringUsedIdx)
        {
            // The used ring moved on but the flags of that batch were not cleared: clear them by
            // walking the batch list from last_batch_head (vhost-user.rst, reconnect step 1).
            int batch = (ushort)(ringUsedIdx - usedIdx);
            ushort head = BinaryPrimitives.ReadUInt16LittleEndian(area[InflightLayout.LastBatchHeadOffset..]);
            for (int i = 0; i < batch && i < descNum && head < descNum; i++)
            {
                Span<byte> desc = Desc(area, head);
                desc[InflightLayout.DescInflightOffset] = 0;
                head = BinaryPrimitives.ReadUInt16LittleEndian(desc[InflightLayout.DescNextOffset..]);
            }

            BinaryPrimitives.WriteUInt16LittleEndian(area[InflightLayout.UsedIdxOffset..], ringUsedIdx);
        }

        int count = 0;
        ulong maxCounter = 0;
        for (int i = 0; i < ringSize; i++)
        {
            Span<byte> desc = Desc(area, i);
            if (desc[InflightLayout.DescInflightOffset] == 1)
            {
                count++;
            }
        }

        for (int i = 0; i < descNum; i++)
        {
            maxCounter = Math.Max(maxCounter, BinaryPrimitives.ReadUInt64LittleEndian(Desc(area, i)[InflightLayout.DescCounterOffset..]));
        }

        ushort[] heads = new ushort[count];
        ulong[] counters = new ulong[count];
        int n = 0;
        for (int i = 0; i < ringSize && n < count; i++)
        {
            Span<byte> desc = Desc(area, i);
            if (desc[InflightLayout.DescInflightOffset] == 1)
            {
                heads[n] = (ushort)i;
                counters[n] = BinaryPrimitives.ReadUInt64LittleEndian(desc[InflightLayout.DescCounterOffset..]);
                n++;
            }
        }

        Array.Sort(counters, heads);
        _nextCounter = maxCounter + 1;
        problem = null;
        return heads;
    }

    /// <summary>A chain with head <paramref name="head"/> was popped: stamp its counter, then flag it.</summary>
    public void OnPop(ushort head)
    {
        if (head >= _capacity)
        {
            return;
        }

        Span<byte> desc = Desc(Area, head);
        BinaryPrimitives.WriteUInt64LittleEndian(desc[InflightLayout.DescCounterOffset..], _nextCounter++);

        // Release: the counter must be in memory before the flag that makes it meaningful.
        Volatile.Write(ref desc[InflightLayout.DescInflightOffset], (byte)1);
    }

    /// <summary>
    /// The chain <paramref name="head"/> is about to be written to the used ring: link it into a
    /// batch of one and record it as the last batch, before the used ring changes.
    /// </summary>
    public void BeforePush(ushort head)
    {
        if (head >= _capacity)
        {
            return;
        }

        Span<byte> area = Area;
        ushort last = BinaryPrimitives.ReadUInt16LittleEndian(area[InflightLayout.LastBatchHeadOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(Desc(area, head)[InflightLayout.DescNextOffset..], last);
        BinaryPrimitives.WriteUInt16LittleEndian(area[InflightLayout.LastBatchHeadOffset..], head);

        // Release: last_batch_head must be recorded before the used ring shows the element.
        Volatile.WriteBarrier();
    }

    /// <summary>The chain is in the used ring, whose idx is now <paramref name="usedIdx"/>: clear its flag.</summary>
    public void AfterPush(ushort head, ushort usedIdx)
    {
        if (head >= _capacity)
        {
            return;
        }

        Span<byte> area = Area;
        Volatile.Write(ref Desc(area, head)[InflightLayout.DescInflightOffset], (byte)0);
        BinaryPrimitives.WriteUInt16LittleEndian(area[InflightLayout.UsedIdxOffset..], usedIdx);
    }

    private static Span<byte> Desc(Span<byte> area, int index) =>
        area.Slice(InflightLayout.DescOffset + (index * InflightLayout.DescStateSize), InflightLayout.DescStateSize);
}
