// SPDX-License-Identifier: MIT
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>Each test builds one malformed ring by hand and expects a broken queue with a clear reason.</summary>
[TestFixture]
public sealed class HostileChainTests
{
    private const ushort Next = RingLayout.DescNext;
    private const ushort Write = RingLayout.DescWrite;
    private const ushort Indirect = RingLayout.DescIndirect;

    [Test]
    public void DescriptorLoop()
    {
        using QueueHarness h = new();
        ulong b = h.Buffer(8);
        h.Driver.WriteDescriptor(0, b, 8, Next, 1);
        h.Driver.WriteDescriptor(1, b, 8, Next, 0);
        Publish(h, 0);
        h.AssertBroken("more than 16 descriptors");
    }

    [Test]
    public void SelfLoop()
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(3, h.Buffer(8), 8, Next, 3);
        Publish(h, 3);
        h.AssertBroken("more than 16 descriptors");
    }

    [Test]
    public void IndirectChainLongerThanTheQueue()
    {
        using QueueHarness h = new(size: 4);
        ulong table = h.Memory.Alloc(5 * 16, 16);
        ulong b = h.Buffer(8);
        for (int i = 0; i < 5; i++)
        {
            h.Driver.WriteRawDescriptor(table + ((ulong)i * 16), b, 8, i < 4 ? Next : (ushort)0, (ushort)(i + 1));
        }

        h.Driver.WriteDescriptor(0, table, 5 * 16, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("more than 4 descriptors");
    }

    [Test]
    public void IndirectChainLongerThanTheRingButWithinTheChain()
    {
        // A device offering queues of 8 (seg_max 6) on a ring of 4: an indirect table of 6 data
        // buffers and the two of a blk request pops whole; one more breaks the queue.
        using (QueueHarness h = new(size: 4))
        {
            Assert.That(PopIndirect(h, 8, new DescriptorChain(8)), Is.EqualTo(PopResult.Popped));
        }

        using (QueueHarness h = new(size: 4))
        {
            Assert.That(PopIndirect(h, 9, new DescriptorChain(8)), Is.EqualTo(PopResult.Broken));
            Assert.That(h.Queue.BrokenReason, Does.Contain("more than 8 descriptors"));
        }
    }

    // Publishes head 0 as an indirect table of N readable buffers and pops it into CHAIN.
    private static PopResult PopIndirect(QueueHarness h, int n, DescriptorChain chain)
    {
        ulong buffer = h.Buffer(8);
        ulong table = h.Memory.Alloc((uint)n * 16, 16);
        for (int i = 0; i < n; i++)
        {
            h.Driver.WriteRawDescriptor(table + ((ulong)i * 16), buffer, 8, i < n - 1 ? Next : (ushort)0, (ushort)(i + 1));
        }

        h.Driver.WriteDescriptor(0, table, (uint)n * 16, Indirect, 0);
        Publish(h, 0);
        PopResult result = h.Queue.TryPop(chain);
        if (result == PopResult.Popped)
        {
            Assert.That(chain.Readable.Length, Is.EqualTo(n));
        }

        return result;
    }

    [Test]
    public void LoopInsideAnIndirectTable()
    {
        using QueueHarness h = new();
        ulong table = h.Memory.Alloc(2 * 16, 16);
        ulong b = h.Buffer(8);
        h.Driver.WriteRawDescriptor(table, b, 8, Next, 1);
        h.Driver.WriteRawDescriptor(table + 16, b, 8, Next, 0);
        h.Driver.WriteDescriptor(0, table, 32, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("more than 16 descriptors");
    }

    [Test]
    public void HeadBeyondTheQueueSize()
    {
        using QueueHarness h = new();
        Publish(h, 16);
        h.AssertBroken("names head 16");
    }

    [Test]
    public void NextBeyondTheQueueSize()
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(0, h.Buffer(8), 8, Next, 200);
        Publish(h, 0);
        h.AssertBroken("links to descriptor 200");
    }

    [Test]
    public void NextBeyondTheIndirectTable()
    {
        using QueueHarness h = new();
        ulong table = h.Memory.Alloc(32, 16);
        h.Driver.WriteRawDescriptor(table, h.Buffer(8), 8, Next, 2);
        h.Driver.WriteDescriptor(0, table, 32, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("outside its indirect table of 2");
    }

    [TestCase((ushort)17)]
    [TestCase((ushort)1000)]
    [TestCase((ushort)65535)]
    public void AvailIndexRunsTooFarAhead(ushort availIdx)
    {
        using QueueHarness h = new();
        h.Driver.SetAvailIdx(availIdx);
        h.AssertBroken($"avail index ran {availIdx} ahead");
    }

    [Test]
    public void AvailIndexExactlyOneRingAheadIsAllowed()
    {
        using QueueHarness h = new(size: 4);
        for (ushort i = 0; i < 4; i++)
        {
            h.Driver.WriteDescriptor(i, h.Buffer(8), 8, 0, 0);
            h.Driver.WriteAvailEntry(i, i);
        }

        h.Driver.SetAvailIdx(4);
        for (int i = 0; i < 4; i++)
        {
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        }

        Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
    }

    [Test]
    public void AvailIndexMovingBackwards()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        h.Driver.SetAvailIdx(1);
        h.AssertBroken("avail index ran 65535 ahead");
    }

    [Test]
    public void NestedIndirectTables()
    {
        using QueueHarness h = new();
        ulong inner = h.Memory.Alloc(16, 16);
        ulong outer = h.Memory.Alloc(16, 16);
        h.Driver.WriteRawDescriptor(inner, h.Buffer(8), 8, 0, 0);
        h.Driver.WriteRawDescriptor(outer, inner, 16, Indirect, 0);
        h.Driver.WriteDescriptor(0, outer, 16, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("nested tables are not allowed");
    }

    [Test]
    public void IndirectWithNext()
    {
        using QueueHarness h = new();
        ulong table = h.Memory.Alloc(16, 16);
        h.Driver.WriteRawDescriptor(table, h.Buffer(8), 8, 0, 0);
        h.Driver.WriteDescriptor(0, table, 16, Indirect | Next, 1);
        h.Driver.WriteDescriptor(1, h.Buffer(8), 8, 0, 0);
        Publish(h, 0);
        h.AssertBroken("also has VIRTQ_DESC_F_NEXT");
    }

    [TestCase(0U)]
    [TestCase(8U)]
    [TestCase(24U)]
    [TestCase(17U)]
    public void IndirectLengthNotAMultipleOf16(uint length)
    {
        using QueueHarness h = new();
        ulong table = h.Memory.Alloc(64, 16);
        h.Driver.WriteRawDescriptor(table, h.Buffer(8), 8, 0, 0);
        h.Driver.WriteDescriptor(0, table, length, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("not a non-zero multiple of 16");
    }

    [Test]
    public void IndirectTableTooLarge()
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(0, h.Memory.Gpa, 65537 * 16, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("more than 65536");
    }

    [Test]
    public void IndirectWithoutTheFeature()
    {
        using QueueHarness h = new(indirect: false);
        h.Driver.AddIndirectChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        h.AssertBroken("VIRTIO_RING_F_INDIRECT_DESC was not negotiated");
    }

    [Test]
    public void IndirectTableOutsideMemory()
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(0, h.Memory.Gpa + h.Memory.Size - 16, 32, Indirect, 0);
        Publish(h, 0);
        h.AssertBroken("indirect table");
    }

    [TestCase(0UL, 8U)]
    [TestCase(0xFFFF_FFFFUL, 1U)]
    [TestCase(0x2_0000_0000UL, 1U)]
    public void BufferOutsideMemory(ulong address, uint length)
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(0, address, length, 0, 0);
        Publish(h, 0);
        h.AssertBroken("is not inside guest memory");
    }

    [Test]
    public void BufferRunningPastTheEndOfMemory()
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(0, h.Memory.Gpa + h.Memory.Size - 8, 9, Write, 0);
        Publish(h, 0);
        h.AssertBroken("is not inside guest memory");
    }

    [TestCase(ulong.MaxValue, 1U)]
    [TestCase(ulong.MaxValue - 10, 100U)]
    [TestCase(ulong.MaxValue - 0xFFFF_FFFEUL, uint.MaxValue)]
    public void AddressPlusLengthWrapsAround(ulong address, uint length)
    {
        using QueueHarness h = new();
        h.Driver.WriteDescriptor(0, address, length, Write, 0);
        Publish(h, 0);
        h.AssertBroken("is not inside guest memory");
    }

    [Test]
    public void TotalLengthBeyond32Bits()
    {
        // Sparse memory large enough for 2 GiB buffers; three of them overlap and add up past 4 GiB.
        using QueueHarness h = new(memorySize: 0x8020_0000);
        ulong big = h.Memory.Alloc(0x8000_0000, 4096);
        h.Driver.WriteDescriptor(0, big, 0x7000_0000, Next, 1);
        h.Driver.WriteDescriptor(1, big, 0x7000_0000, Next | Write, 2);
        h.Driver.WriteDescriptor(2, big, 0x7000_0000, Write, 0);
        Publish(h, 0);
        h.AssertBroken("longer than 4 GiB");
    }

    [Test]
    public void LargeBuffersUpTo4GiBAreAccepted()
    {
        using QueueHarness h = new(memorySize: 0x8020_0000);
        ulong big = h.Memory.Alloc(0x8000_0000, 4096);
        h.Driver.AddChain(DriverBuffer.DeviceReadable(big, 0x8000_0000), DriverBuffer.DeviceWritable(big, 0x7FFF_FFFF));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Chain.ReadableLength + (ulong)h.Chain.WritableLength, Is.EqualTo(0xFFFF_FFFFUL));
    }

    [Test]
    public void WritableBeforeReadable()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(8), 8), DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        h.AssertBroken("follows a device-writable one");
    }

    [Test]
    public void WritableBeforeReadableInsideAnIndirectTable()
    {
        using QueueHarness h = new();
        h.Driver.AddIndirectChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8), DriverBuffer.DeviceWritable(h.Buffer(8), 8), DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        h.AssertBroken("follows a device-writable one");
    }

    [Test]
    public void ValidChainsBeforeABadOneArePopped()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        h.Driver.StageHead(99);
        h.Driver.Publish();
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        h.AssertBroken("names head 99");
        Assert.That(h.Queue.NextAvail, Is.EqualTo(1), "the bad entry is not consumed");
    }

    private static void Publish(QueueHarness h, ushort head)
    {
        h.Driver.StageHead(head);
        h.Driver.Publish();
    }
}
