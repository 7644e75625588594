// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests;

/// <summary>
/// The back end's live memory table: a region leaves memory only once no live map (the current one,
/// or an older one a request still leases) contains it.
/// </summary>
[TestFixture]
public sealed class GuestMemoryTableTests
{
    private readonly List<FileDescriptor> _fds = new();

    [TearDown]
    public void CloseFds()
    {
        foreach (FileDescriptor fd in _fds)
        {
            fd.Dispose();
        }

        _fds.Clear();
    }

    [Test]
    public void ARegionThatLeavesTheTable_IsUnmappedAtOnce_WithoutLeases()
    {
        using GuestMemoryTable table = new();
        GuestRegion a = Region(0x1000_0000);
        GuestRegion b = Region(0x2000_0000);
        table.Publish(GuestMemoryMap.Create([a, b]));
        table.Publish(table.Current.Without(b.GuestPhysAddr));
        Assert.That(b.IsDisposed, Is.True);
        Assert.That(a.IsDisposed, Is.False, "a is still in the current map");
        Assert.That(table.MappedRegions, Is.EqualTo(1));
    }

    [Test]
    public void ALeasedMap_KeepsItsRegionsUntilTheLastLeaseGoes()
    {
        using GuestMemoryTable table = new();
        GuestRegion a = Region(0x1000_0000);
        GuestRegion b = Region(0x2000_0000);
        table.Publish(GuestMemoryMap.Create([a, b]));
        GuestMemoryMap leased = table.Current;
        leased.AddLease();
        leased.AddLease();
        List<GuestRegion> unmapped = new();
        table.RegionUnmapped += unmapped.Add;

        table.Publish(table.Current.Without(b.GuestPhysAddr));
        Assert.That(b.IsDisposed, Is.False, "a request still uses b through the old map");
        Assert.That(leased.TryGetSpan(b.GuestPhysAddr, 16, out _), Is.True);
        leased.ReleaseLease();
        Assert.That(b.IsDisposed, Is.False);
        leased.ReleaseLease();
        Assert.That(b.IsDisposed, Is.True);
        Assert.That(unmapped, Is.EqualTo(new[] { b }));
        Assert.That(a.IsDisposed, Is.False);
    }

    [Test]
    public void OldMapsRetiringOutOfOrder_UnmapARegionOnlyWhenTheLastOneHoldingItGoes()
    {
        using GuestMemoryTable table = new();
        GuestRegion a = Region(0x1000_0000);
        GuestRegion b = Region(0x2000_0000);
        table.Publish(GuestMemoryMap.Create([a, b]));
        GuestMemoryMap first = table.Current;
        first.AddLease();
        table.Publish(first.With(Region(0x3000_0000)));
        GuestMemoryMap second = table.Current;
        second.AddLease();

        // b leaves; both older maps that have it are leased.
        table.Publish(second.Without(b.GuestPhysAddr));
        second.ReleaseLease();
        Assert.That(b.IsDisposed, Is.False, "the first map still holds b");
        first.ReleaseLease();
        Assert.That(b.IsDisposed, Is.True);
        Assert.That(table.MappedRegions, Is.EqualTo(2));
    }

    [Test]
    public void Dispose_UnmapsEverythingOnceLeasesAreBack()
    {
        GuestRegion a = Region(0x1000_0000);
        GuestMemoryMap leased;
        using (GuestMemoryTable table = new())
        {
            table.Publish(GuestMemoryMap.Create([a]));
            leased = table.Current;
            leased.AddLease();
        }

        Assert.That(a.IsDisposed, Is.False);
        leased.ReleaseLease();
        Assert.That(a.IsDisposed, Is.True);
    }

    [Test]
    public void AMapIsPublishedOnce_AndARetiredMapTakesNoLease()
    {
        using GuestMemoryTable table = new();
        GuestMemoryMap map = GuestMemoryMap.Create([Region(0x1000_0000)]);
        table.Publish(map);
        Assert.Throws<InvalidOperationException>(() => table.Publish(map));
        table.Publish(GuestMemoryMap.Empty);
        Assert.Throws<InvalidOperationException>(() => map.AddLease());
    }

    [Test]
    public void TheSynchronisation_RunsBeforeTheOldMapGoes()
    {
        using GuestMemoryTable table = new();
        GuestRegion a = Region(0x1000_0000);
        table.Publish(GuestMemoryMap.Create([a]));
        bool mappedDuringSync = false;
        table.Publish(GuestMemoryMap.Empty, () => mappedDuringSync = !a.IsDisposed);
        Assert.That(mappedDuringSync, Is.True, "threads still on the old map finish with it first");
        Assert.That(a.IsDisposed, Is.True);
    }

    private GuestRegion Region(ulong gpa)
    {
        FileDescriptor fd = MemFd.Create("table-test", 1 << 16);
        _fds.Add(fd);
        return GuestRegion.Map(fd, gpa, 1 << 16, gpa, 0);
    }
}
