// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace VirtioLoopback.GuestMemory;

/// <summary>
/// An immutable table of guest memory regions, sorted by guest physical address, with no two
/// regions overlapping. Every change (<c>SET_MEM_TABLE</c>, <c>ADD_MEM_REG</c>, <c>REM_MEM_REG</c>)
/// builds a new map, so a reader takes the reference once per batch and sees one consistent table.
/// </summary>
/// <remarks>
/// <para>
/// The map does not own its regions. A map published through a <see cref="GuestMemoryTable"/> is
/// kept alive by leases: the table holds one while the map is current, and whoever uses the map
/// beyond one callback of a queue's thread (a request in flight on another thread) takes one with
/// <see cref="AddLease"/> and returns it with <see cref="ReleaseLease"/>. Regions leave memory only
/// once no live map contains them.
/// </para>
/// <para>
/// Lookups are a binary search over at most a few hundred regions and never allocate or throw.
/// </para>
/// </remarks>
public sealed partial class GuestMemoryMap
{
    private readonly GuestRegion[] _regions;

    // The first and last guest physical address of each region, in the same order as _regions;
    // kept apart so the binary search touches one small array.
    private readonly ulong[] _starts;
    private readonly ulong[] _lasts;

    // The holder's lease (1 at creation) plus one per AddLease; at 0 the owning table retires the map.
    private int _leases = 1;
    private GuestMemoryTable? _owner;

    private GuestMemoryMap(GuestRegion[] regions)
    {
        _regions = regions;
        Regions = Array.AsReadOnly(regions);
        _starts = new ulong[regions.Length];
        _lasts = new ulong[regions.Length];
        for (int i = 0; i < regions.Length; i++)
        {
            _starts[i] = regions[i].GuestPhysAddr;
            _lasts[i] = regions[i].LastGuestPhysAddr;
        }
    }

    /// <summary>The map without any region.</summary>
    public static GuestMemoryMap Empty { get; } = new(Array.Empty<GuestRegion>());

    /// <summary>The regions, sorted by guest physical address.</summary>
    public IReadOnlyList<GuestRegion> Regions { get; }

    /// <summary>The number of regions.</summary>
    public int Count => _regions.Length;

    /// <summary>
    /// Keeps the map (and its regions) alive for work that outlives the current callback, such as a
    /// request handed to an I/O thread. Allocation-free; pair it with <see cref="ReleaseLease"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The map was already retired (a device bug: leases are taken from the map a callback was given).</exception>
    public void AddLease()
    {
        if (Interlocked.Increment(ref _leases) <= 1)
        {
            ThrowRetired();
        }
    }

    /// <summary>Returns a lease; the last one retires a published map, unmapping regions no live map has.</summary>
    public void ReleaseLease()
    {
        if (Interlocked.Decrement(ref _leases) == 0)
        {
            _owner?.Retire(this);
        }
    }

    /// <summary>The table that published this map, once published (set once, by the table).</summary>
    internal GuestMemoryTable? Owner
    {
        get => _owner;
        set => _owner = value;
    }

    /// <summary>Builds a map from <paramref name="regions"/> in any order.</summary>
    /// <exception cref="ArgumentException">Two regions overlap in guest physical address space.</exception>
    public static GuestMemoryMap Create(IEnumerable<GuestRegion> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        GuestMemoryMap map = Empty;
        foreach (GuestRegion region in regions)
        {
            map = map.With(region);
        }

        return map;
    }

    /// <summary>A new map with <paramref name="region"/> added.</summary>
    /// <exception cref="ArgumentException">The region overlaps one already in the map.</exception>
    public GuestMemoryMap With(GuestRegion region)
    {
        if (!TryWith(region, out GuestMemoryMap? map))
        {
            throw new ArgumentException($"The region ({region}) overlaps a region already in the memory map.", nameof(region));
        }

        return map;
    }

    /// <summary>
    /// A new map with <paramref name="region"/> added; false (and <paramref name="map"/> null) when it
    /// overlaps a region already in the map.
    /// </summary>
    public bool TryWith(GuestRegion region, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GuestMemoryMap? map)
    {
        ArgumentNullException.ThrowIfNull(region);
        int insertAt = 0;
        while (insertAt < _regions.Length && _starts[insertAt] < region.GuestPhysAddr)
        {
            insertAt++;
        }

        bool overlapsPrevious = insertAt > 0 && _lasts[insertAt - 1] >= region.GuestPhysAddr;
        bool overlapsNext = insertAt < _regions.Length && _starts[insertAt] <= region.LastGuestPhysAddr;
        if (overlapsPrevious || overlapsNext)
        {
            map = null;
            return false;
        }

        GuestRegion[] regions = new GuestRegion[_regions.Length + 1];
        Array.Copy(_regions, 0, regions, 0, insertAt);
        regions[insertAt] = region;
        Array.Copy(_regions, insertAt, regions, insertAt + 1, _regions.Length - insertAt);
        map = new GuestMemoryMap(regions);
        return true;
    }

    /// <summary>
    /// A new map without the region that starts at <paramref name="gpa"/>; this map when there is none.
    /// The removed region (still mapped) is returned in <paramref name="removed"/> for the caller to dispose.
    /// </summary>
    public GuestMemoryMap Without(ulong gpa, out GuestRegion? removed)
    {
        int index = FindIndex(gpa);
        if (index < 0 || _starts[index] != gpa)
        {
            removed = null;
            return this;
        }

        removed = _regions[index];
        if (_regions.Length == 1)
        {
            return Empty;
        }

        GuestRegion[] regions = new GuestRegion[_regions.Length - 1];
        Array.Copy(_regions, 0, regions, 0, index);
        Array.Copy(_regions, index + 1, regions, index, _regions.Length - index - 1);
        return new GuestMemoryMap(regions);
    }

    /// <summary>A new map without the region that starts at <paramref name="gpa"/>; this map when there is none.</summary>
    public GuestMemoryMap Without(ulong gpa) => Without(gpa, out _);

    /// <summary>The region containing <paramref name="gpa"/>, or null.</summary>
    public GuestRegion? FindRegion(ulong gpa)
    {
        int index = FindIndex(gpa);
        return index >= 0 ? _regions[index] : null;
    }

    /// <summary>
    /// A span over <paramref name="length"/> bytes of guest memory at <paramref name="gpa"/>. True only
    /// when the whole range lies inside one region (a zero-length range needs <paramref name="gpa"/>
    /// inside a region). Never throws; ranges of 2 GiB or more are refused (a span cannot hold them).
    /// </summary>
    public bool TryGetSpan(ulong gpa, uint length, out Span<byte> span)
    {
        int index = FindIndex(gpa);
        if (index < 0 || length > int.MaxValue)
        {
            span = default;
            return false;
        }

        return _regions[index].TryGetSpan(gpa - _starts[index], (int)length, out span);
    }

    /// <summary>
    /// Copies <c>destination.Length</c> bytes from <paramref name="gpa"/> into <paramref name="destination"/>,
    /// across adjacent regions if need be; false (and nothing trustworthy copied) when part of the
    /// range is not guest memory. For small structures that may straddle two regions (an indirect
    /// descriptor table); data buffers are split into one span per region instead.
    /// </summary>
    public bool TryRead(ulong gpa, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            ulong contiguous = ContiguousLength(gpa);
            if (contiguous == 0)
            {
                return false;
            }

            int take = (int)Math.Min(contiguous, (ulong)destination.Length);
            if (!TryGetSpan(gpa, (uint)take, out Span<byte> source))
            {
                return false;
            }

            source.CopyTo(destination);
            destination = destination[take..];
            gpa += (ulong)take;
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="length"/> bytes at <paramref name="gpa"/> lie inside one region; a range
    /// that wraps around 2^64 never does. A zero-length range needs <paramref name="gpa"/> inside a region.
    /// </summary>
    public bool ContainsRange(ulong gpa, ulong length)
    {
        int index = FindIndex(gpa);
        if (index < 0)
        {
            return false;
        }

        // Both sides are bounded by the region, so neither subtraction can wrap.
        return length == 0 || length - 1 <= _lasts[index] - gpa;
    }

    /// <summary>
    /// Whether every byte of <paramref name="length"/> bytes at <paramref name="gpa"/> is guest memory,
    /// in one region or in several adjacent ones (no gap). A zero-length range needs
    /// <paramref name="gpa"/> inside a region.
    /// </summary>
    public bool IsGuestMemory(ulong gpa, ulong length)
    {
        if (ContainsRange(gpa, length))
        {
            return true;
        }

        while (true)
        {
            ulong run = ContiguousLength(gpa);
            if (run == 0)
            {
                return false;
            }

            if (run >= length)
            {
                return true;
            }

            gpa += run;
            length -= run;
        }
    }

    /// <summary>
    /// The number of bytes from <paramref name="gpa"/> to the end of its region (0 when
    /// <paramref name="gpa"/> is not guest memory), like libvhost-user's <c>vu_gpa_to_va</c> length.
    /// </summary>
    public ulong ContiguousLength(ulong gpa)
    {
        int index = FindIndex(gpa);
        return index < 0 ? 0 : _lasts[index] - gpa + 1;
    }

    /// <summary>
    /// Translates a front-end virtual address (as sent in <c>SET_VRING_ADDR</c>) to a guest physical
    /// address; false when no region covers it. A linear scan: this runs on the control path only.
    /// </summary>
    public bool TryTranslateUserAddr(ulong userAddr, out ulong gpa)
    {
        foreach (GuestRegion region in _regions)
        {
            ulong offset = userAddr - region.UserAddr;
            if (offset < region.Size)
            {
                gpa = region.GuestPhysAddr + offset;
                return true;
            }
        }

        gpa = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowRetired() =>
        throw new InvalidOperationException("A lease was taken on a memory map that is already retired.");

    /// <summary>The index of the region containing <paramref name="gpa"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindIndex(ulong gpa)
    {
        ulong[] starts = _starts;
        int lo = 0;
        int hi = starts.Length - 1;

        // Find the last region starting at or below gpa.
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (starts[mid] <= gpa)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return hi >= 0 && gpa <= _lasts[hi] ? hi : -1;
    }
}
