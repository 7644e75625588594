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
    /// <c>SET_MEM_TABLE</c>: maps every region (one fd each, checked by the gate), then publishes the
    /// whole table while the rings run. Nothing changes if any region fails.
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

        PublishMemory(map);
        Log.MemoryTableSet(_logger, map.Count);
        return null;
    }

    /// <summary><c>ADD_MEM_REG</c>: maps one more region, up to <see cref="MaxMemSlots"/>.</summary>
    private string? AddMemReg(MemoryRegion r)
    {
        GuestMemoryMap current = _memoryTable.Current;
        if (current.Count >= MaxMemSlots)
        {
            return $"all {MaxMemSlots} memory slots are in use";
        }

        GuestRegion region = GuestRegion.Map(_fds[0], r.GuestPhysAddr, r.MemorySize, r.UserAddr, r.MmapOffset);
        if (!current.TryWith(region, out GuestMemoryMap? map))
        {
            region.Dispose();
            return $"region {region} overlaps a mapped region";
        }

        PublishMemory(map);
        Log.RegionMapped(_logger, region);
        return null;
    }

    /// <summary>
    /// <c>REM_MEM_REG</c>: removes the region with the same guest address and size. Its mapping goes
    /// once no request in flight uses it. The fd the front end may attach is not needed and is
    /// closed with the message.
    /// </summary>
    private string? RemMemReg(MemoryRegion r)
    {
        GuestMemoryMap current = _memoryTable.Current;
        GuestRegion? match = current.FindRegion(r.GuestPhysAddr);
        if (match is null || match.GuestPhysAddr != r.GuestPhysAddr || match.Size != r.MemorySize)
        {
            return $"no region at gpa 0x{r.GuestPhysAddr:x} of size 0x{r.MemorySize:x}";
        }

        PublishMemory(current.Without(r.GuestPhysAddr));
        Log.RegionRemoved(_logger, match);
        return null;
    }

    /// <summary>
    /// Makes <paramref name="map"/> the table every ring uses, without stopping any: each started
    /// ring takes it on its thread between two callbacks, stopped rings take it here. Once every ring
    /// has moved on, the previous map lives only as long as requests in flight hold leases on it,
    /// and its regions that left the table are unmapped after the last of them.
    /// </summary>
    private void PublishMemory(GuestMemoryMap map) =>
        _memoryTable.Publish(map, () =>
        {
            foreach (Vring vring in _vrings)
            {
                vring.SetMemory(map);
            }
        });

    private static void DisposeAll(IEnumerable<GuestRegion> regions)
    {
        foreach (GuestRegion region in regions)
        {
            region.Dispose();
        }
    }
}
