// SPDX-License-Identifier: MIT
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class SplitQueueConfigureTests
{
    private TestGuestMemory _memory = null!;
    private ulong _desc;
    private ulong _avail;
    private ulong _used;

    [SetUp]
    public void SetUp()
    {
        _memory = new TestGuestMemory(1 << 20);
        _desc = _memory.Alloc(16 * 256, 4096);
        _avail = _memory.Alloc(4096, 4096);
        _used = _memory.Alloc(4096, 4096);
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    private SplitQueue NewQueue() => new() { Memory = _memory.ToGuestMemoryMap() };

    [TestCase((ushort)1)]
    [TestCase((ushort)2)]
    [TestCase((ushort)256)]
    public void ValidLayoutsAreAccepted(ushort size)
    {
        SplitQueue q = NewQueue();
        Assert.That(q.TryConfigure(size, _desc, _avail + 2, _used + 4, out string? error), Is.True, error);
        Assert.Multiple(() =>
        {
            Assert.That(error, Is.Null);
            Assert.That(q.IsReady, Is.True);
            Assert.That(q.Size, Is.EqualTo(size));
            Assert.That(q.DescTable, Is.EqualTo(_desc));
            Assert.That(q.AvailRing, Is.EqualTo(_avail + 2));
            Assert.That(q.UsedRing, Is.EqualTo(_used + 4));
        });
    }

    [TestCase((ushort)0, 0UL, 0UL, 0UL, "power of two")]
    [TestCase((ushort)3, 0UL, 0UL, 0UL, "power of two")]
    [TestCase((ushort)65535, 0UL, 0UL, 0UL, "power of two")]
    [TestCase((ushort)16, 8UL, 0UL, 0UL, "descriptor table")]
    [TestCase((ushort)16, 0UL, 1UL, 0UL, "available ring")]
    [TestCase((ushort)16, 0UL, 0UL, 2UL, "used ring")]
    public void BadLayoutsAreRefused(ushort size, ulong descSkew, ulong availSkew, ulong usedSkew, string fragment)
    {
        SplitQueue q = NewQueue();
        Assert.That(q.TryConfigure(size, _desc + descSkew, _avail + availSkew, _used + usedSkew, out string? error), Is.False);
        Assert.Multiple(() =>
        {
            Assert.That(error, Does.Contain(fragment));
            Assert.That(q.IsReady, Is.False);
        });
    }

    [Test]
    public void RingsOutsideMemoryAreRefused()
    {
        SplitQueue q = NewQueue();
        ulong end = _memory.Gpa + _memory.Size;
        Assert.Multiple(() =>
        {
            Assert.That(q.TryConfigure(16, end - 128, _avail, _used, out string? e1), Is.False);
            Assert.That(e1, Does.Contain("descriptor table"));
            Assert.That(q.TryConfigure(16, _desc, end - 32, _used, out string? e2), Is.False);
            Assert.That(e2, Does.Contain("available ring"));
            Assert.That(q.TryConfigure(16, _desc, _avail, end - 132, out string? e3), Is.False, "the trailing avail_event is part of the ring");
            Assert.That(e3, Does.Contain("used ring"));
            Assert.That(q.TryConfigure(16, _desc, _avail, end - 136, out _), Is.True);
            Assert.That(new SplitQueue().TryConfigure(16, _desc, _avail, _used, out string? e4), Is.False, "no memory at all");
            Assert.That(e4, Does.Contain("not inside"));
        });
    }

    [Test]
    public void ConfigureTakesNextUsedFromTheRingAndResetsSuppression()
    {
        _memory.WriteU16(_used + 2, 4321);
        _memory.WriteU16(_used, 1);
        SplitQueue q = NewQueue();
        q.EventIdx = true;
        q.NextAvail = 4000;
        Assert.That(q.TryConfigure(16, _desc, _avail, _used, out _), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(q.NextUsed, Is.EqualTo(4321));
            Assert.That(q.UsedIdxFromRing(), Is.EqualTo(4321));
            Assert.That(q.NextAvail, Is.EqualTo(4000));
            Assert.That(_memory.ReadU16(_used), Is.Zero, "VRING_USED_F_NO_NOTIFY cleared");
            Assert.That(_memory.ReadU16(_used + 4 + (8 * 16)), Is.EqualTo(4000), "avail_event");
        });
    }
}
