// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>The memory table: <c>SET_MEM_TABLE</c>, <c>ADD_MEM_REG</c>, <c>REM_MEM_REG</c>.</summary>
public sealed partial class BackendHandler
{
    /// <summary>
    /// <c>SET_MEM_TABLE</c>: maps every region (one fd each, checked by the gate), then swaps the
    /// whole table on every worker and unmaps the old regions. Nothing changes if any region fails.
    /// </summary>
    private string? SetMemTable(ReadOnlySpan<byte> payload)
    {
        MemoryTable table = MemoryTable.Read(payload);
        List<GuestRegion> mapped = new((int)table.Count);
        GuestMemoryMap map = GuestMemoryMap.Empty;
        try
        {
            for (int i = 0; i < (int)table.Count; i++)
            {
                MemoryRegion r = table[i];
                GuestRegion region = GuestRegion.Map(_fds[i], r.GuestPhysAddr, r.MemorySize, r.UserAddr, r.MmapOffset);
                mapped.Add(region);
                if (!map.TryWith(region, out GuestMemoryMap? next))
                {
                    DisposeAll(mapped);
                    return $"region {region} overlaps another region of the table";
                }

                map = next;
                Log.RegionMapped(_logger, region);
            }
        }
        catch
        {
            DisposeAll(mapped);
            throw;
        }

        GuestMemoryMap old = SwapMemory(map);
        DisposeAll(old.Regions);
        Log.MemoryTableSet(_logger, map.Count);
        return null;
    }

    /// <summary><c>ADD_MEM_REG</c>: maps one more region, up to <see cref="MaxMemSlots"/>.</summary>
    private string? AddMemReg(MemoryRegion r)
    {
        if (_memory.Count >= MaxMemSlots)
        {
            return $"all {MaxMemSlots} memory slots are in use";
        }

        GuestRegion region = GuestRegion.Map(_fds[0], r.GuestPhysAddr, r.MemorySize, r.UserAddr, r.MmapOffset);
        if (!_memory.TryWith(region, out GuestMemoryMap? map))
        {
            region.Dispose();
            return $"region {region} overlaps a mapped region";
        }

        SwapMemory(map);
        Log.RegionMapped(_logger, region);
        return null;
    }

    /// <summary>
    /// <c>REM_MEM_REG</c>: removes the region with the same guest address and size. The fd the front
    /// end may attach is not needed and is closed with the message.
    /// </summary>
    private string? RemMemReg(MemoryRegion r)
    {
        GuestRegion? match = _memory.FindRegion(r.GuestPhysAddr);
        if (match is null || match.GuestPhysAddr != r.GuestPhysAddr || match.Size != r.MemorySize)
        {
            return $"no region at gpa 0x{r.GuestPhysAddr:x} of size 0x{r.MemorySize:x}";
        }

        SwapMemory(_memory.Without(r.GuestPhysAddr));
        match.Dispose();
        Log.RegionRemoved(_logger, match);
        return null;
    }

    /// <summary>
    /// Installs <paramref name="map"/> on every vring's worker, one after the other; each worker
    /// picks it up between two batches and re-translates its ring addresses. Returns the previous
    /// map, whose regions no worker uses any more once this returns.
    /// </summary>
    private GuestMemoryMap SwapMemory(GuestMemoryMap map)
    {
        GuestMemoryMap old = _memory;
        _memory = map;
        foreach (Vring vring in _vrings)
        {
            vring.SetMemory(map);
        }

        return old;
    }

    private static void DisposeAll(IEnumerable<GuestRegion> regions)
    {
        foreach (GuestRegion region in regions)
        {
            region.Dispose();
        }
    }
}
