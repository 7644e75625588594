// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class GuestRegionTests
{
    [TestCase(0UL)]
    [TestCase(100UL)]
    [TestCase(0x1000UL)]
    [TestCase(0x2345UL)]
    public void MapHonoursUnalignedMmapOffsets(ulong mmapOffset)
    {
        using TestGuestMemory memory = new(size: 0x4000, gpa: 0x8000_0000, userAddr: 0x7f00_0000_0000, mmapOffset: mmapOffset);
        memory.WriteU32(0x8000_0000, 0xCAFEF00D);
        memory.WriteU32(0x8000_3FFC, 0x12345678);

        // A second, independent mapping (as the back end makes) sees the same bytes at the same GPAs.
        using GuestRegion other = memory.MapAgain();
        GuestMemoryMap map = GuestMemoryMap.Empty.With(other);
        Assert.Multiple(() =>
        {
            Assert.That(other.MmapOffset, Is.EqualTo(mmapOffset));
            Assert.That(map.TryReadU32(0x8000_0000, out uint first) && first == 0xCAFEF00D, Is.True);
            Assert.That(map.TryReadU32(0x8000_3FFC, out uint last) && last == 0x12345678, Is.True);
            Assert.That(map.TryGetSpan(0x8000_3FFD, 4, out _), Is.False);
            Assert.That(map.TryTranslateUserAddr(0x7f00_0000_0010, out ulong gpa) && gpa == 0x8000_0010, Is.True);
        });
    }

    [Test]
    public void TestMemoryAllocatorAlignsAndRunsOut()
    {
        using TestGuestMemory memory = new(size: 0x1000);
        ulong a = memory.Alloc(3, 1);
        ulong b = memory.Alloc(8, 16);
        Assert.Multiple(() =>
        {
            Assert.That(a, Is.EqualTo(TestGuestMemory.DefaultGpa));
            Assert.That(b % 16, Is.Zero);
            Assert.That(b, Is.GreaterThan(a + 2));
            Assert.That(memory.ToUserAddr(b) - memory.UserAddr, Is.EqualTo(b - memory.Gpa));
            Assert.That(() => memory.Alloc(0x1000), Throws.InvalidOperationException);
        });
    }
}
