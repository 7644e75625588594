// SPDX-License-Identifier: MIT
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class SplitQueueUsedTests
{
    [Test]
    public void PushUsedWritesTheElementThenTheIndex()
    {
        using QueueHarness h = new();
        ushort head = h.Driver.AddChain(DriverBuffer.DeviceReadable(h.Buffer(4), 4), DriverBuffer.DeviceWritable(h.Buffer(64), 64));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        h.Queue.PushUsed(h.Chain.Head, 42);

        Assert.Multiple(() =>
        {
            Assert.That(h.Driver.ReadUsedIdx(), Is.EqualTo(1));
            Assert.That(h.Driver.ReadUsedElement(0), Is.EqualTo(((uint)head, 42u)));
            Assert.That(h.Queue.NextUsed, Is.EqualTo(1));
            Assert.That(h.Queue.InFlight, Is.Zero);
            Assert.That(h.Driver.TryGetUsed(out ushort id, out uint len), Is.True);
            Assert.That(id, Is.EqualTo(head));
            Assert.That(len, Is.EqualTo(42));
            Assert.That(h.Driver.FreeDescriptors, Is.EqualTo(16), "the driver got its descriptors back");
            Assert.That(h.Driver.TryGetUsed(out _, out _), Is.False);
        });
    }

    [Test]
    public void PushUsedRejectsAHeadBeyondTheQueue()
    {
        using QueueHarness h = new();
        Assert.That(() => h.Queue.PushUsed(16, 0), Throws.InstanceOf<System.ArgumentOutOfRangeException>());
    }

    [Test]
    public void UsedElementsMayCompleteOutOfOrder()
    {
        using QueueHarness h = new();
        ushort a = h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        ushort b = h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        h.Queue.PushUsed(b, 1);
        h.Queue.PushUsed(a, 2);
        Assert.Multiple(() =>
        {
            Assert.That(h.Driver.ReadUsedElement(0), Is.EqualTo(((uint)b, 1u)));
            Assert.That(h.Driver.ReadUsedElement(1), Is.EqualTo(((uint)a, 2u)));
            Assert.That(h.Driver.ReadUsedIdx(), Is.EqualTo(2));
        });
    }

    [TestCase((ushort)65530)]
    [TestCase((ushort)65535)]
    [TestCase((ushort)65520)]
    public void IndicesWrapAround65535(ushort start)
    {
        using QueueHarness h = new(size: 4, start: start);
        Assert.That(h.Queue.NextUsed, Is.EqualTo(start), "taken from the used ring");
        ushort expected = start;
        for (int i = 0; i < 40; i++)
        {
            ushort head = h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped), $"round {i}");
            Assert.That(h.Chain.Head, Is.EqualTo(head));
            h.Queue.PushUsed(head, (uint)i);
            expected++;
            Assert.Multiple(() =>
            {
                Assert.That(h.Queue.NextAvail, Is.EqualTo(expected));
                Assert.That(h.Queue.NextUsed, Is.EqualTo(expected));
                Assert.That(h.Driver.ReadUsedIdx(), Is.EqualTo(expected));
                Assert.That(h.Driver.TryGetUsed(out ushort id, out uint len), Is.True);
                Assert.That((id, len), Is.EqualTo((head, (uint)i)));
            });
        }
    }

    [Test]
    public void FullRingAcrossTheWrap()
    {
        using QueueHarness h = new(size: 8, start: 65533);
        for (int i = 0; i < 8; i++)
        {
            h.Driver.StageChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        }

        h.Driver.Publish();
        for (int i = 0; i < 8; i++)
        {
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
            h.Queue.PushUsed(h.Chain.Head, 0);
        }

        Assert.Multiple(() =>
        {
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
            Assert.That(h.Queue.NextAvail, Is.EqualTo((ushort)5));
            Assert.That(h.Driver.ReadUsedIdx(), Is.EqualTo((ushort)5));
        });
    }
}
