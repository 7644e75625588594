// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class GuestMemoryMapTests
{
    private const ulong Page = 0x1000;

    private FileDescriptor _fd = null!;
    private MappedMemory _mapping = null!;

    [SetUp]
    public void SetUp()
    {
        _fd = MemFd.Create("map-tests", 64 * (long)Page);
        _mapping = MappedMemory.Map(_fd, 0, 64 * Page, writable: true);
    }

    [TearDown]
    public void TearDown()
    {
        _mapping.Dispose();
        _fd.Dispose();
    }

    private GuestRegion Region(ulong gpa, ulong size, ulong mappingOffset = 0, ulong userAddr = 0x7000_0000) =>
        GuestRegion.FromMapping(_mapping, mappingOffset, gpa, size, userAddr, ownsMapping: false);

    [Test]
    public void EmptyMapFindsNothing()
    {
        Assert.Multiple(() =>
        {
            Assert.That(GuestMemoryMap.Empty.TryGetSpan(0, 0, out _), Is.False);
            Assert.That(GuestMemoryMap.Empty.TryReadU16(0x1000, out _), Is.False);
            Assert.That(GuestMemoryMap.Empty.TryTranslateUserAddr(0x7000_0000, out _), Is.False);
            Assert.That(GuestMemoryMap.Empty.Count, Is.Zero);
        });
    }

    [TestCase(0x10000UL, 1U, true)]
    [TestCase(0x10000UL, 0x1000U, true)]
    [TestCase(0x10FFFUL, 1U, true)]
    [TestCase(0x10FFFUL, 2U, false)]
    [TestCase(0x10001UL, 0x1000U, false)]
    [TestCase(0xFFFFUL, 1U, false)]
    [TestCase(0xFFFFUL, 2U, false)]
    [TestCase(0x11000UL, 0U, false)]
    [TestCase(0x10FFFUL, 0U, true)]
    [TestCase(0x10000UL, 0U, true)]
    [TestCase(0x10000UL, 0x1001U, false)]
    [TestCase(0x10800UL, uint.MaxValue, false)]
    public void TryGetSpanChecksRegionBounds(ulong gpa, uint length, bool expected)
    {
        GuestMemoryMap map = GuestMemoryMap.Empty.With(Region(0x10000, Page));
        Assert.That(map.TryGetSpan(gpa, length, out Span<byte> span), Is.EqualTo(expected));
        if (expected)
        {
            Assert.That(span.Length, Is.EqualTo((int)length));
        }
    }

    [Test]
    public void SpansOfAdjacentRegionsDoNotJoin()
    {
        // Two regions adjacent in GPA but backed by distant parts of the mapping.
        GuestMemoryMap map = GuestMemoryMap.Empty.With(Region(0x20000, Page, 0)).With(Region(0x21000, Page, 8 * Page));
        Assert.Multiple(() =>
        {
            Assert.That(map.TryGetSpan(0x20FF0, 16, out _), Is.True);
            Assert.That(map.TryGetSpan(0x21000, 16, out _), Is.True);
            Assert.That(map.TryGetSpan(0x20FF8, 16, out _), Is.False, "a range crossing regions is refused");
            Assert.That(map.ContainsRange(0x20FF8, 16), Is.False);
            Assert.That(map.ContiguousLength(0x20FF8), Is.EqualTo(8UL));
            Assert.That(map.ContiguousLength(0x22000), Is.Zero);
        });

        map.TryGetSpan(0x21000, 4, out Span<byte> second);
        second.Fill(0xAB);
        Assert.That(_mapping.GetSpan(8 * Page, 4).ToArray(), Is.EqualTo(new byte[] { 0xAB, 0xAB, 0xAB, 0xAB }));
    }

    [TestCase(0x10000UL, Page)]
    [TestCase(0x10FFFUL, 1UL)]
    [TestCase(0xF000UL, 0x1001UL)]
    [TestCase(0xF000UL, 0x3000UL)]
    [TestCase(0x10800UL, 0x10UL)]
    public void OverlappingRegionsAreRefused(ulong gpa, ulong size)
    {
        GuestMemoryMap map = GuestMemoryMap.Empty.With(Region(0x10000, Page));
        Assert.Multiple(() =>
        {
            Assert.That(() => map.With(Region(gpa, size, 2 * Page)), Throws.ArgumentException);
            Assert.That(map.TryWith(Region(gpa, size, 2 * Page), out GuestMemoryMap? refused), Is.False);
            Assert.That(refused, Is.Null);
            Assert.That(map.Count, Is.EqualTo(1), "the map is unchanged");
        });
    }

    [Test]
    public void RegionsAreSortedAndAdjacentOnesAccepted()
    {
        GuestMemoryMap map = GuestMemoryMap.Create([Region(0x30000, Page), Region(0x10000, Page), Region(0x11000, Page), Region(0xF000, Page)]);
        List<ulong> starts = [];
        foreach (GuestRegion region in map.Regions)
        {
            starts.Add(region.GuestPhysAddr);
        }

        Assert.That(starts, Is.EqualTo(new ulong[] { 0xF000, 0x10000, 0x11000, 0x30000 }));
    }

    [Test]
    public void WithoutRemovesOnlyTheRegionStartingThere()
    {
        GuestRegion a = Region(0x10000, Page);
        GuestRegion b = Region(0x20000, Page);
        GuestMemoryMap map = GuestMemoryMap.Empty.With(a).With(b);

        GuestMemoryMap same = map.Without(0x10800, out GuestRegion? none);
        GuestMemoryMap smaller = map.Without(0x10000, out GuestRegion? removed);
        Assert.Multiple(() =>
        {
            Assert.That(same, Is.SameAs(map));
            Assert.That(none, Is.Null);
            Assert.That(removed, Is.SameAs(a));
            Assert.That(smaller.Count, Is.EqualTo(1));
            Assert.That(smaller.TryGetSpan(0x10000, 1, out _), Is.False);
            Assert.That(smaller.TryGetSpan(0x20000, 1, out _), Is.True);
            Assert.That(map.TryGetSpan(0x10000, 1, out _), Is.True, "the old map is unchanged");
            Assert.That(smaller.Without(0x20000), Is.SameAs(GuestMemoryMap.Empty));
            Assert.That(a.IsDisposed, Is.False, "the map does not dispose regions");
        });
    }

    [TestCase(0x7000_0000UL, true, 0x10000UL)]
    [TestCase(0x7000_0FFFUL, true, 0x10FFFUL)]
    [TestCase(0x7000_1000UL, false, 0UL)]
    [TestCase(0x6FFF_FFFFUL, false, 0UL)]
    [TestCase(0x9000_0010UL, true, 0x40010UL)]
    public void UserAddressesTranslate(ulong userAddr, bool found, ulong expectedGpa)
    {
        GuestMemoryMap map = GuestMemoryMap.Empty
            .With(Region(0x10000, Page, 0, 0x7000_0000))
            .With(Region(0x40000, Page, Page, 0x9000_0000));
        Assert.That(map.TryTranslateUserAddr(userAddr, out ulong gpa), Is.EqualTo(found));
        Assert.That(gpa, Is.EqualTo(expectedGpa));
    }

    [Test]
    public void ScalarAccessIsLittleEndianAndBounded()
    {
        GuestMemoryMap map = GuestMemoryMap.Empty.With(Region(0x10000, Page));
        Assert.Multiple(() =>
        {
            Assert.That(map.TryWriteU64(0x10000, 0x0807060504030201), Is.True);
            Assert.That(_mapping.GetSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
            Assert.That(map.TryReadU16(0x10000, out ushort u16) && u16 == 0x0201, Is.True);
            Assert.That(map.TryReadU32(0x10004, out uint u32) && u32 == 0x08070605, Is.True);
            Assert.That(map.TryWriteU16(0x10FFE, 0xBEEF) && map.TryReadU16(0x10FFE, out ushort last) && last == 0xBEEF, Is.True);
            Assert.That(map.TryWriteU32(0x10FFE, 1), Is.False, "a write past the end is refused");
            Assert.That(map.TryReadU64(0x10FFC, out ulong none), Is.False);
            Assert.That(none, Is.Zero);
        });
    }

    [TestCase(ulong.MaxValue, 1UL)]
    [TestCase(0x10FFFUL, ulong.MaxValue)]
    [TestCase(0x10010UL, ulong.MaxValue - 0xF)]
    public void WrappingRangesAreRefused(ulong gpa, ulong length)
    {
        GuestMemoryMap map = GuestMemoryMap.Empty.With(Region(0x10000, Page));
        Assert.That(map.ContainsRange(gpa, length), Is.False);
    }

    [Test]
    public void RegionAtTheTopOfTheAddressSpace()
    {
        ulong gpa = ulong.MaxValue - Page + 1;
        GuestMemoryMap map = GuestMemoryMap.Empty.With(Region(gpa, Page));
        Assert.Multiple(() =>
        {
            Assert.That(map.TryGetSpan(ulong.MaxValue, 1, out _), Is.True);
            Assert.That(map.TryGetSpan(ulong.MaxValue, 2, out _), Is.False);
            Assert.That(map.ContainsRange(gpa, Page), Is.True);
            Assert.That(() => Region(ulong.MaxValue, 2), Throws.ArgumentException);
        });
    }

    [Test]
    public void ManyRegionsAreFoundByBinarySearch()
    {
        // 509 one-page regions with one-page holes between them (ADD_MEM_REG's maximum).
        List<GuestRegion> regions = [];
        for (int i = 0; i < 509; i++)
        {
            regions.Add(Region(0x100000 + ((ulong)i * 2 * Page), Page, (ulong)(i % 64) * Page));
        }

        GuestMemoryMap map = GuestMemoryMap.Create(regions);
        for (int i = 0; i < 509; i++)
        {
            ulong start = 0x100000 + ((ulong)i * 2 * Page);
            Assert.That(map.TryGetSpan(start, (uint)Page, out _), Is.True, $"region {i}");
            Assert.That(map.TryGetSpan(start + Page - 1, 1, out _), Is.True);
            Assert.That(map.TryGetSpan(start + Page, 1, out _), Is.False, $"hole after {i}");
            Assert.That(map.FindRegion(start + 5), Is.SameAs(regions[i]));
        }
    }

    [Test]
    public void DisposedRegionGivesNoSpans()
    {
        using FileDescriptor fd = MemFd.Create("disposed", (long)Page);
        GuestRegion region = GuestRegion.Map(fd, 0x10000, Page, 0, 0);
        GuestMemoryMap map = GuestMemoryMap.Empty.With(region);
        Assert.That(map.TryGetSpan(0x10000, 8, out _), Is.True);
        region.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(region.IsDisposed, Is.True);
            Assert.That(map.TryGetSpan(0x10000, 8, out _), Is.False);
        });
    }

    [Test]
    public void InvalidRegionsAreRefused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Region(0x1000, 0), Throws.ArgumentException);
            Assert.That(() => Region(0x1000, 65 * Page), Throws.ArgumentException, "larger than the mapping");
            Assert.That(() => GuestRegion.FromMapping(_mapping, 0, 0x1000, Page, ulong.MaxValue, ownsMapping: false), Throws.ArgumentException, "user address wraps");
        });
    }
}
