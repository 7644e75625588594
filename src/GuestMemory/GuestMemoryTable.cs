// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;

namespace VirtioLoopback.GuestMemory;

/// <summary>
/// The memory table a back end serves from while its rings run: <c>SET_MEM_TABLE</c>,
/// <c>ADD_MEM_REG</c> and <c>REM_MEM_REG</c> publish new maps here, and nobody stops for it.
/// </summary>
/// <remarks>
/// <para>
/// A published map stays alive while the table holds it (until the next one is published and the
/// publisher's synchronisation has run) and while leases hold it (requests in flight on other
/// threads, <see cref="GuestMemoryMap.AddLease"/>). A region is unmapped when the last live map that
/// contains it retires, so a request still writing into memory the front end has just removed
/// finishes safely, and the mapping goes right after.
/// </para>
/// <para>
/// Regions passed to <see cref="Publish"/> for the first time belong to the table from then on.
/// Maps retire on whichever thread returns their last lease; that thread then does the
/// <c>munmap</c>, which happens once per memory change, never per request.
/// </para>
/// </remarks>
public sealed class GuestMemoryTable : IDisposable
{
    // Protects _liveMaps; publishing (control thread) and retiring (any thread) both change it.
    private readonly Lock _lock = new();

    // For every region in a live map: how many live maps contain it.
    private readonly Dictionary<GuestRegion, int> _liveMaps = new(ReferenceEqualityComparer.Instance);
    private GuestMemoryMap _current = GuestMemoryMap.Empty;

    /// <summary>Raised (on the retiring thread) after a region was unmapped.</summary>
    public event Action<GuestRegion>? RegionUnmapped;

    /// <summary>The current map. A thread that uses it beyond its current callback takes a lease.</summary>
    public GuestMemoryMap Current => Volatile.Read(ref _current);

    /// <summary>How many regions are mapped now, in the current map or in older ones still leased.</summary>
    public int MappedRegions
    {
        get
        {
            lock (_lock)
            {
                return _liveMaps.Count;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="map"/> the current map. Then runs <paramref name="synchronize"/>, which
    /// returns once every thread that may use the previous map without a lease has moved to the new
    /// one (the back end runs an action on each queue thread), and lets the previous map go.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="map"/> was published before.</exception>
    public void Publish(GuestMemoryMap map, Action? synchronize = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Count > 0)
        {
            lock (_lock)
            {
                if (map.Owner is not null)
                {
                    throw new InvalidOperationException("A memory map is published once.");
                }

                map.Owner = this;
                foreach (GuestRegion region in map.Regions)
                {
                    _liveMaps[region] = _liveMaps.TryGetValue(region, out int n) ? n + 1 : 1;
                }
            }
        }

        GuestMemoryMap old = Interlocked.Exchange(ref _current, map);
        synchronize?.Invoke();
        if (old.Count > 0)
        {
            // The table's own hold: with no lease left the old map retires now.
            old.ReleaseLease();
        }
    }

    /// <summary>Publishes the empty map: every region goes once its leases are returned.</summary>
    public void Dispose() => Publish(GuestMemoryMap.Empty);

    /// <summary>A published map lost its last lease: unmap the regions no other live map has.</summary>
    internal void Retire(GuestMemoryMap map)
    {
        List<GuestRegion>? unmapped = null;
        lock (_lock)
        {
            foreach (GuestRegion region in map.Regions)
            {
                int n = _liveMaps[region] - 1;
                if (n > 0)
                {
                    _liveMaps[region] = n;
                    continue;
                }

                _liveMaps.Remove(region);
                (unmapped ??= new()).Add(region);
            }
        }

        if (unmapped is null)
        {
            return;
        }

        foreach (GuestRegion region in unmapped)
        {
            region.Dispose();
            RegionUnmapped?.Invoke(region);
        }
    }
}
