// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class SplitQueuePopTests
{
    [Test]
    public void EmptyQueuePopsNothing()
    {
        using QueueHarness h = new();
        Assert.Multiple(() =>
        {
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
            Assert.That(h.Queue.HasAvailable(), Is.False);
            Assert.That(h.Queue.NextAvail, Is.Zero);
        });
    }

    [Test]
    public void UnconfiguredQueueIsEmpty()
    {
        SplitQueue queue = new();
        DescriptorChain chain = new(4);
        Assert.Multiple(() =>
        {
            Assert.That(queue.TryPop(chain), Is.EqualTo(PopResult.Empty));
            Assert.That(queue.IsReady, Is.False);
            Assert.That(queue.HasAvailable(), Is.False);
            Assert.That(queue.NeedsNotification(), Is.False);
        });
    }

    [Test]
    public void DirectChainSplitsReadableAndWritable()
    {
        using QueueHarness h = new();
        ulong r1 = h.Buffer(16), r2 = h.Buffer(100), w1 = h.Buffer(512), w2 = h.Buffer(1);
        ushort head = h.Driver.AddChain(
            DriverBuffer.DeviceReadable(r1, 16),
            DriverBuffer.DeviceReadable(r2, 100),
            DriverBuffer.DeviceWritable(w1, 512),
            DriverBuffer.DeviceWritable(w2, 1));

        Assert.That(h.Queue.HasAvailable(), Is.True);
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        DescriptorChain c = h.Chain;
        Assert.Multiple(() =>
        {
            Assert.That(c.Head, Is.EqualTo(head));
            Assert.That(c.Count, Is.EqualTo(4));
            Assert.That(c.IsIndirect, Is.False);
            Assert.That(c.Readable.ToArray(), Is.EqualTo(new[] { new Descriptor(r1, 16, false), new Descriptor(r2, 100, false) }));
            Assert.That(c.Writable.ToArray(), Is.EqualTo(new[] { new Descriptor(w1, 512, true), new Descriptor(w2, 1, true) }));
            Assert.That(c.ReadableLength, Is.EqualTo(116));
            Assert.That(c.WritableLength, Is.EqualTo(513));
            Assert.That(h.Queue.NextAvail, Is.EqualTo(1));
            Assert.That(h.Queue.InFlight, Is.EqualTo(1));
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
        });
    }

    [Test]
    public void ChainsPopInAvailOrder()
    {
        using QueueHarness h = new();
        ushort a = h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(8), 8));
        ushort b = h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8), DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        ushort c = h.Driver.AddIndirectChain(DriverBuffer.DeviceReadable(h.Buffer(8), 8));
        foreach (ushort expected in new[] { a, b, c })
        {
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
            Assert.That(h.Chain.Head, Is.EqualTo(expected));
        }

        Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
    }

    [Test]
    public void IndirectChain()
    {
        using QueueHarness h = new(size: 4);
        ulong r = h.Buffer(16), w1 = h.Buffer(4096), w2 = h.Buffer(1);

        // Longer than the queue's own table would allow free descriptors for: 3 buffers, 1 slot.
        ushort head = h.Driver.AddIndirectChain(
            DriverBuffer.DeviceReadable(r, 16),
            DriverBuffer.DeviceWritable(w1, 4096),
            DriverBuffer.DeviceWritable(w2, 1));
        Assert.That(h.Driver.FreeDescriptors, Is.EqualTo(3));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.Multiple(() =>
        {
            Assert.That(h.Chain.Head, Is.EqualTo(head));
            Assert.That(h.Chain.IsIndirect, Is.True);
            Assert.That(h.Chain.Readable.ToArray(), Is.EqualTo(new[] { new Descriptor(r, 16, false) }));
            Assert.That(h.Chain.Writable.ToArray(), Is.EqualTo(new[] { new Descriptor(w1, 4096, true), new Descriptor(w2, 1, true) }));
        });
    }

    [Test]
    public void DirectDescriptorsFollowedByAnIndirectTable()
    {
        // §2.7.5.3.2: zero or more normal chained descriptors followed by a single indirect one.
        using QueueHarness h = new();
        ulong r = h.Buffer(8), w = h.Buffer(8);
        ulong table = h.Memory.Alloc(16, 16);
        h.Driver.WriteRawDescriptor(table, w, 8, RingLayout.DescWrite, 0);
        h.Driver.WriteDescriptor(0, r, 8, RingLayout.DescNext, 1);
        h.Driver.WriteDescriptor(1, table, 16, RingLayout.DescIndirect, 0);
        h.Driver.StageHead(0);
        h.Driver.Publish();

        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Chain.All.ToArray(), Is.EqualTo(new[] { new Descriptor(r, 8, false), new Descriptor(w, 8, true) }));
    }

    [Test]
    public void ChainOfExactlyQueueSizeIsAccepted()
    {
        using QueueHarness h = new(size: 8);
        DriverBuffer[] buffers = new DriverBuffer[8];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = DriverBuffer.DeviceWritable(h.Buffer(4), 4);
        }

        h.Driver.AddChain(buffers);
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Chain.Count, Is.EqualTo(8));
        h.Queue.PushUsed(h.Chain.Head, 0);
        Assert.That(h.Driver.TryGetUsed(out _, out _), Is.True);

        h.Driver.AddIndirectChain(buffers);
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped), "an indirect table of queue-size entries");
        Assert.That(h.Chain.WritableLength, Is.EqualTo(32));
    }

    [Test]
    public void ZeroLengthBuffersInsideMemoryAreAccepted()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(1), 0), DriverBuffer.DeviceWritable(h.Buffer(1), 0));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Chain.Count, Is.EqualTo(2));
    }

    [Test]
    public void TryLoadChainDoesNotTouchTheAvailRing()
    {
        using QueueHarness h = new();
        ulong w = h.Buffer(8);
        h.Driver.WriteDescriptor(5, w, 8, RingLayout.DescWrite, 0);
        Assert.Multiple(() =>
        {
            Assert.That(h.Queue.TryLoadChain(5, h.Chain), Is.True);
            Assert.That(h.Chain.Head, Is.EqualTo(5));
            Assert.That(h.Chain.Writable.ToArray(), Is.EqualTo(new[] { new Descriptor(w, 8, true) }));
            Assert.That(h.Queue.NextAvail, Is.Zero);
            Assert.That(h.Queue.InFlight, Is.EqualTo(1));
        });
        Assert.That(h.Queue.TryLoadChain(16, h.Chain), Is.False);
        Assert.That(h.Queue.BrokenReason, Does.Contain("inflight head 16"));
    }

    [Test]
    public void ChainLongerThanTheChainCapacityBreaksTheQueue()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(4), 4), DriverBuffer.DeviceReadable(h.Buffer(4), 4), DriverBuffer.DeviceReadable(h.Buffer(4), 4));
        Assert.That(h.Queue.TryPop(new DescriptorChain(2)), Is.EqualTo(PopResult.Broken));
        Assert.That(h.Queue.BrokenReason, Does.Contain("more than 2 descriptors"));
    }

    [Test]
    public void ResetAndReconfigureClearBrokenState()
    {
        using QueueHarness h = new();
        h.Queue.MarkBroken("first");
        h.Queue.MarkBroken("second");
        Assert.That(h.Queue.BrokenReason, Is.EqualTo("first"));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Broken));

        h.Queue.Reset();
        Assert.Multiple(() =>
        {
            Assert.That(h.Queue.IsBroken, Is.False);
            Assert.That(h.Queue.IsReady, Is.False);
            Assert.That(h.Queue.Size, Is.Zero);
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
        });

        h.Queue.MarkBroken("again");
        Assert.That(h.Queue.TryConfigure(16, h.Driver.DescTable, h.Driver.AvailRing, h.Driver.UsedRing, out _), Is.True);
        Assert.That(h.Queue.IsBroken, Is.False);
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(4), 4));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
    }

    [Test]
    public void ReplacedMemoryWithoutTheRingsBreaksTheQueue()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(4), 4));
        h.Queue.Memory = VirtioLoopback.GuestMemory.GuestMemoryMap.Empty;
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Broken));
        Assert.That(h.Queue.BrokenReason, Does.Contain("no longer inside guest memory"));
    }

    [Test]
    public void SetFeaturesMapsRingFeatureBits()
    {
        SplitQueue q = new();
        q.SetFeatures(VirtioFeatures.Version1 | VirtioFeatures.RingEventIdx | VirtioFeatures.NotifyOnEmpty);
        Assert.Multiple(() =>
        {
            Assert.That(q.EventIdx, Is.True);
            Assert.That(q.NotifyOnEmpty, Is.True);
            Assert.That(q.IndirectEnabled, Is.False);
        });
        Assert.Multiple(() =>
        {
            Assert.That(VirtioFeatures.RingIndirectDesc, Is.EqualTo(0x1000_0000UL));
            Assert.That(VirtioFeatures.Version1, Is.EqualTo(0x1_0000_0000UL));
            Assert.That(VirtioFeatures.RingReset, Is.EqualTo(1UL << 40));
        });
    }
}
