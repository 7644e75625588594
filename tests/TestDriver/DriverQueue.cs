// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;

namespace VirtioLoopback.TestDriver;

/// <summary>
/// The driver side of one split virtqueue in <see cref="TestGuestMemory"/>, like rust-vmm's
/// <c>mock.rs</c>: it allocates the three ring areas, adds direct and indirect chains, publishes
/// them, collects used elements and implements the driver's half of notification suppression.
/// Raw writers let hostile tests put anything in the rings.
/// </summary>
/// <remarks>
/// Not thread-safe; the device side may run on another thread or in another process. Ordering
/// follows the spec: descriptors and ring entries are written before the avail idx that publishes
/// them (write barrier), the used idx is read before the used elements (read barrier), and a full
/// barrier separates publishing from reading the device's suppression state.
/// </remarks>
public sealed class DriverQueue
{
    private readonly TestGuestMemory _memory;
    private readonly Stack<ushort> _free = new();
    private readonly List<ushort>?[] _chains;
    private readonly (ulong Gpa, int Entries)[] _indirectTables;
    private ushort _lastKickAvailIdx;

    /// <summary>Allocates and zeroes the rings of a queue of <paramref name="size"/> descriptors (a power of two).</summary>
    public DriverQueue(TestGuestMemory memory, ushort size)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (size == 0 || (size & (size - 1)) != 0 || size > 32768)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "The queue size must be a power of two up to 32768.");
        }

        _memory = memory;
        Size = size;
        DescTable = memory.Alloc((ulong)size * RingLayout.DescSize, 16);
        AvailRing = memory.Alloc(6 + (2 * (ulong)size), 2);
        UsedRing = memory.Alloc(6 + ((ulong)RingLayout.UsedElemSize * size), 4);
        _chains = new List<ushort>?[size];
        _indirectTables = new (ulong, int)[size];
        Reset();
    }

    /// <summary>The queue size.</summary>
    public ushort Size { get; }

    /// <summary>The descriptor table's guest physical address.</summary>
    public ulong DescTable { get; }

    /// <summary>The available ring's guest physical address.</summary>
    public ulong AvailRing { get; }

    /// <summary>The used ring's guest physical address.</summary>
    public ulong UsedRing { get; }

    /// <summary>The descriptor table's front-end virtual address (for <c>SET_VRING_ADDR</c>).</summary>
    public ulong DescTableUserAddr => _memory.ToUserAddr(DescTable);

    /// <summary>The available ring's front-end virtual address (for <c>SET_VRING_ADDR</c>).</summary>
    public ulong AvailRingUserAddr => _memory.ToUserAddr(AvailRing);

    /// <summary>The used ring's front-end virtual address (for <c>SET_VRING_ADDR</c>).</summary>
    public ulong UsedRingUserAddr => _memory.ToUserAddr(UsedRing);

    /// <summary>The memory the queue lives in.</summary>
    public TestGuestMemory Memory => _memory;

    /// <summary>The driver's next avail idx: chains added so far, published or staged.</summary>
    public ushort AvailIdx { get; private set; }

    /// <summary>The used idx up to which <see cref="TryGetUsed"/> has consumed.</summary>
    public ushort LastUsedIdx { get; private set; }

    /// <summary>Whether the driver uses EVENT_IDX (<see cref="KickNeeded"/> reads <c>avail_event</c>).</summary>
    public bool EventIdx { get; set; }

    /// <summary>Descriptors not in any outstanding chain.</summary>
    public int FreeDescriptors => _free.Count;

    /// <summary>Adds a chain of direct descriptors and publishes it; returns its head.</summary>
    /// <exception cref="InvalidOperationException">Not enough free descriptors.</exception>
    public ushort AddChain(params ReadOnlySpan<DriverBuffer> buffers)
    {
        ushort head = StageChain(buffers);
        Publish();
        return head;
    }

    /// <summary>Adds a chain as one indirect descriptor pointing to a table of <paramref name="buffers"/>, and publishes it.</summary>
    /// <exception cref="InvalidOperationException">No free descriptor.</exception>
    public ushort AddIndirectChain(params ReadOnlySpan<DriverBuffer> buffers)
    {
        ushort head = StageIndirectChain(buffers);
        Publish();
        return head;
    }

    /// <summary>Writes a direct chain and its avail ring entry without publishing the avail idx.</summary>
    public ushort StageChain(params ReadOnlySpan<DriverBuffer> buffers)
    {
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("A chain needs at least one buffer.", nameof(buffers));
        }

        if (buffers.Length > _free.Count)
        {
            throw new InvalidOperationException($"{buffers.Length} descriptors wanted, {_free.Count} free.");
        }

        List<ushort> indices = new(buffers.Length);
        for (int i = 0; i < buffers.Length; i++)
        {
            indices.Add(_free.Pop());
        }

        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].IsWritable ? RingLayout.DescWrite : 0) | (last ? 0 : RingLayout.DescNext));
            WriteDescriptor(indices[i], buffers[i].Gpa, buffers[i].Length, flags, last ? (ushort)0 : indices[i + 1]);
        }

        _chains[indices[0]] = indices;
        StageHead(indices[0]);
        return indices[0];
    }

    /// <summary>Writes an indirect chain and its avail ring entry without publishing the avail idx.</summary>
    public ushort StageIndirectChain(params ReadOnlySpan<DriverBuffer> buffers)
    {
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("A chain needs at least one buffer.", nameof(buffers));
        }

        if (_free.Count == 0)
        {
            throw new InvalidOperationException("No free descriptor.");
        }

        ushort head = _free.Pop();
        ulong table = IndirectTable(head, buffers.Length);
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].IsWritable ? RingLayout.DescWrite : 0) | (last ? 0 : RingLayout.DescNext));
            WriteRawDescriptor(table + ((ulong)i * RingLayout.DescSize), buffers[i].Gpa, buffers[i].Length, flags, last ? (ushort)0 : (ushort)(i + 1));
        }

        WriteDescriptor(head, table, (uint)(buffers.Length * RingLayout.DescSize), RingLayout.DescIndirect, 0);
        _chains[head] = [head];
        StageHead(head);
        return head;
    }

    /// <summary>Makes the staged chains visible: write barrier, then the avail idx.</summary>
    public void Publish()
    {
        // Ring entries and descriptors before the idx that publishes them (§2.7.13).
        Volatile.WriteBarrier();
        _memory.WriteU16(AvailRing + 2, AvailIdx);
    }

    /// <summary>
    /// Takes the next used element, if the device published one, and frees its descriptors
    /// (chains written with the raw writers are not tracked and free nothing).
    /// </summary>
    public bool TryGetUsed(out ushort id, out uint length)
    {
        ushort usedIdx = _memory.ReadU16(UsedRing + 2);

        // The used idx before the elements it publishes.
        Volatile.ReadBarrier();
        if (usedIdx == LastUsedIdx)
        {
            id = 0;
            length = 0;
            return false;
        }

        ulong element = UsedRing + 4 + ((ulong)RingLayout.UsedElemSize * (uint)(LastUsedIdx & (Size - 1)));
        uint rawId = _memory.ReadU32(element);
        length = _memory.ReadU32(element + 4);
        id = (ushort)rawId;
        LastUsedIdx++;
        if (rawId < Size && _chains[rawId] is List<ushort> indices)
        {
            _chains[rawId] = null;
            for (int i = indices.Count - 1; i >= 0; i--)
            {
                _free.Push(indices[i]);
            }
        }

        return true;
    }

    /// <summary>
    /// The driver's kick decision for what was published since the previous call: with EVENT_IDX
    /// whether the avail idx passed <c>avail_event</c>, otherwise whether the device left
    /// <c>VRING_USED_F_NO_NOTIFY</c> clear.
    /// </summary>
    public bool KickNeeded()
    {
        // Publishing before reading the device's suppression state (store-load: full barrier).
        Interlocked.MemoryBarrier();
        ushort old = _lastKickAvailIdx;
        _lastKickAvailIdx = AvailIdx;
        return EventIdx
            ? RingLayout.NeedEvent(ReadAvailEvent(), AvailIdx, old)
            : (ReadUsedFlags() & RingLayout.UsedNoNotify) == 0;
    }

    /// <summary>
    /// Asks for used-buffer notifications again, like Linux's <c>virtqueue_enable_cb</c>: with EVENT_IDX
    /// <c>used_event</c> = <see cref="LastUsedIdx"/>, otherwise clears <c>VRING_AVAIL_F_NO_INTERRUPT</c>;
    /// then a full barrier and a re-check.
    /// </summary>
    /// <returns>True when used elements are already pending: reap them instead of waiting.</returns>
    public bool EnableInterrupts()
    {
        if (EventIdx)
        {
            _memory.WriteU16(AvailRing + 4 + (2 * (ulong)Size), LastUsedIdx);
        }
        else
        {
            _memory.WriteU16(AvailRing, 0);
        }

        // The request must be visible before we look at the used idx again (store-load).
        Interlocked.MemoryBarrier();
        return ReadUsedIdx() != LastUsedIdx;
    }

    /// <summary>Asks not to be notified: sets <c>VRING_AVAIL_F_NO_INTERRUPT</c> (with EVENT_IDX, <c>used_event</c> just stays behind).</summary>
    public void DisableInterrupts()
    {
        if (!EventIdx)
        {
            _memory.WriteU16(AvailRing, RingLayout.AvailNoInterrupt);
        }
    }

    /// <summary>Sets or clears <c>VRING_AVAIL_F_NO_INTERRUPT</c> (the driver's flags field).</summary>
    public void SetNoInterrupt(bool noInterrupt) =>
        _memory.WriteU16(AvailRing, noInterrupt ? RingLayout.AvailNoInterrupt : (ushort)0);

    /// <summary>Writes <c>used_event</c> (EVENT_IDX): notify me once the used idx passes this.</summary>
    public void SetUsedEvent(ushort usedEvent)
    {
        _memory.WriteU16(AvailRing + 4 + (2 * (ulong)Size), usedEvent);
        Interlocked.MemoryBarrier();
    }

    /// <summary>The device's <c>avail_event</c> (EVENT_IDX).</summary>
    public ushort ReadAvailEvent() => _memory.ReadU16(UsedRing + 4 + ((ulong)RingLayout.UsedElemSize * Size));

    /// <summary>The device's used ring flags.</summary>
    public ushort ReadUsedFlags() => _memory.ReadU16(UsedRing);

    /// <summary>The used idx as the device published it.</summary>
    public ushort ReadUsedIdx() => _memory.ReadU16(UsedRing + 2);

    /// <summary>The used element in ring slot <paramref name="slot"/> (taken modulo the size).</summary>
    public (uint Id, uint Length) ReadUsedElement(ushort slot)
    {
        ulong element = UsedRing + 4 + ((ulong)RingLayout.UsedElemSize * (uint)(slot & (Size - 1)));
        return (_memory.ReadU32(element), _memory.ReadU32(element + 4));
    }

    /// <summary>Raw: writes descriptor <paramref name="index"/> of the table (any values; hostile tests).</summary>
    public void WriteDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        if (index >= Size)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        WriteRawDescriptor(DescTable + ((ulong)index * RingLayout.DescSize), address, length, flags, next);
    }

    /// <summary>Raw: writes a descriptor anywhere in guest memory (for hand-made indirect tables).</summary>
    public void WriteRawDescriptor(ulong gpa, ulong address, uint length, ushort flags, ushort next)
    {
        _memory.WriteU64(gpa, address);
        _memory.WriteU32(gpa + 8, length);
        _memory.WriteU16(gpa + 12, flags);
        _memory.WriteU16(gpa + 14, next);
    }

    /// <summary>Raw: writes <paramref name="head"/> into the avail ring slot for index <paramref name="availIndex"/> (modulo the size).</summary>
    public void WriteAvailEntry(ushort availIndex, ushort head) =>
        _memory.WriteU16(AvailRing + 4 + (2 * (ulong)(uint)(availIndex & (Size - 1))), head);

    /// <summary>Raw: stages <paramref name="head"/> as the next avail entry (any value) without publishing.</summary>
    public void StageHead(ushort head)
    {
        WriteAvailEntry(AvailIdx, head);
        AvailIdx++;
    }

    /// <summary>Raw: publishes <paramref name="availIdx"/> as the avail idx, whatever it is.</summary>
    public void SetAvailIdx(ushort availIdx)
    {
        AvailIdx = availIdx;
        Publish();
    }

    /// <summary>
    /// Raw: starts both rings at index <paramref name="start"/> (avail idx and used idx in memory and the
    /// driver's counters), to test wrap-around. Do it before the device configures the queue and
    /// give the device the same value as its vring base.
    /// </summary>
    public void SetIndices(ushort start)
    {
        AvailIdx = start;
        LastUsedIdx = start;
        _lastKickAvailIdx = start;
        _memory.WriteU16(AvailRing + 2, start);
        _memory.WriteU16(UsedRing + 2, start);
    }

    /// <summary>Zeroes the rings and frees every descriptor.</summary>
    public void Reset()
    {
        _memory.Fill(DescTable, Size * RingLayout.DescSize, 0);
        _memory.Fill(AvailRing, 6 + (2 * Size), 0);
        _memory.Fill(UsedRing, 6 + (RingLayout.UsedElemSize * Size), 0);
        _free.Clear();
        for (int i = Size - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }

        Array.Clear(_chains);
        AvailIdx = 0;
        LastUsedIdx = 0;
        _lastKickAvailIdx = 0;
    }

    /// <summary>An indirect table for <paramref name="head"/> with room for <paramref name="entries"/>, reused when large enough.</summary>
    private ulong IndirectTable(ushort head, int entries)
    {
        (ulong gpa, int capacity) = _indirectTables[head];
        if (capacity < entries)
        {
            capacity = Math.Max(entries, 8);
            gpa = _memory.Alloc((ulong)capacity * RingLayout.DescSize, 16);
            _indirectTables[head] = (gpa, capacity);
        }

        return gpa;
    }
}
