// SPDX-License-Identifier: MIT
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class NotificationTests
{
    // vring_need_event(event, new, old): notify when event is in [old, new) modulo 2^16.
    [TestCase((ushort)0, (ushort)1, (ushort)0, true)]
    [TestCase((ushort)1, (ushort)1, (ushort)0, false)]
    [TestCase((ushort)1, (ushort)2, (ushort)0, true)]
    [TestCase((ushort)5, (ushort)10, (ushort)3, true)]
    [TestCase((ushort)2, (ushort)10, (ushort)3, false)]
    [TestCase((ushort)10, (ushort)10, (ushort)3, false)]
    [TestCase((ushort)65535, (ushort)0, (ushort)65535, true)]
    [TestCase((ushort)65535, (ushort)2, (ushort)65530, true)]
    [TestCase((ushort)1, (ushort)2, (ushort)65530, true)]
    [TestCase((ushort)2, (ushort)2, (ushort)65530, false)]
    [TestCase((ushort)65529, (ushort)2, (ushort)65530, false)]
    [TestCase((ushort)7, (ushort)7, (ushort)7, false)]
    public void NeedEvent(ushort eventIdx, ushort newIdx, ushort oldIdx, bool expected)
    {
        Assert.Multiple(() =>
        {
            Assert.That(SplitRing.NeedEvent(eventIdx, newIdx, oldIdx), Is.EqualTo(expected));
            Assert.That(RingLayout.NeedEvent(eventIdx, newIdx, oldIdx), Is.EqualTo(expected), "the driver's copy agrees");
        });
    }

    // start: the ring indices; pushes: used elements before the decision; usedEvent: the driver's request.
    [TestCase((ushort)0, 1, (ushort)0, true)]
    [TestCase((ushort)0, 1, (ushort)1, false)]
    [TestCase((ushort)0, 2, (ushort)1, true)]
    [TestCase((ushort)0, 3, (ushort)5, false)]
    [TestCase((ushort)100, 1, (ushort)50, false)]
    [TestCase((ushort)65535, 1, (ushort)65535, true)]
    [TestCase((ushort)65535, 1, (ushort)0, false)]
    [TestCase((ushort)65535, 2, (ushort)0, true)]
    [TestCase((ushort)65534, 3, (ushort)65535, true)]
    [TestCase((ushort)65534, 3, (ushort)1, false)]
    [TestCase((ushort)65534, 4, (ushort)1, true)]
    public void EventIdxDecision(ushort start, int pushes, ushort usedEvent, bool expected)
    {
        using QueueHarness h = new(eventIdx: true, start: start);
        Assert.That(h.Queue.NeedsNotification(), Is.True, "the first decision has no reference and notifies");
        Assert.That(h.Queue.NeedsNotification(), Is.False, "nothing new was used");

        for (int i = 0; i < pushes; i++)
        {
            h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
            h.Queue.PushUsed(h.Chain.Head, 0);
        }

        h.Driver.SetUsedEvent(usedEvent);
        Assert.That(h.Queue.NeedsNotification(), Is.EqualTo(expected));
    }

    [Test]
    public void EventIdxSeesOnlyUsesSinceTheLastDecision()
    {
        using QueueHarness h = new(eventIdx: true);
        h.Queue.NeedsNotification();
        h.Driver.SetUsedEvent(0);
        Push(h);
        Assert.That(h.Queue.NeedsNotification(), Is.True, "used idx passed 0");
        Push(h);
        Assert.That(h.Queue.NeedsNotification(), Is.False, "0 was already passed at the last decision");
        h.Driver.SetUsedEvent(2);
        Push(h);
        Assert.That(h.Queue.NeedsNotification(), Is.True);
    }

    [Test]
    public void NoInterruptFlagSuppressesNotifications()
    {
        using QueueHarness h = new();
        Push(h);
        Assert.That(h.Queue.NeedsNotification(), Is.True);
        h.Driver.SetNoInterrupt(true);
        Push(h);
        Assert.That(h.Queue.NeedsNotification(), Is.False);
        h.Driver.SetNoInterrupt(false);
        Assert.That(h.Queue.NeedsNotification(), Is.True);
    }

    [Test]
    public void NotifyOnEmptyOverridesSuppression()
    {
        using QueueHarness h = new(notifyOnEmpty: true);
        h.Driver.SetNoInterrupt(true);
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        ushort first = h.Chain.Head;
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        ushort second = h.Chain.Head;

        h.Queue.PushUsed(first, 0);
        Assert.That(h.Queue.NeedsNotification(), Is.False, "one chain still in flight");
        h.Queue.PushUsed(second, 0);
        Assert.That(h.Queue.NeedsNotification(), Is.True, "ring empty and nothing in flight");

        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Queue.NeedsNotification(), Is.False, "buffers are available again");
    }

    [Test]
    public void NotifyOnEmptyWithEventIdx()
    {
        using QueueHarness h = new(eventIdx: true, notifyOnEmpty: true);
        h.Queue.NeedsNotification();
        h.Driver.SetUsedEvent(100);
        Push(h);
        Assert.That(h.Queue.NeedsNotification(), Is.True);
    }

    [Test]
    public void DisableAndEnableWithoutEventIdxUseTheUsedFlags()
    {
        using QueueHarness h = new();
        Assert.That(h.Driver.KickNeeded(), Is.True);
        h.Queue.DisableNotification();
        Assert.That(h.Driver.ReadUsedFlags(), Is.EqualTo(RingLayout.UsedNoNotify));
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Driver.KickNeeded(), Is.False);

        Assert.That(h.Queue.EnableNotification(), Is.True, "a chain arrived while kicks were off");
        Assert.That(h.Driver.ReadUsedFlags(), Is.Zero);
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Queue.EnableNotification(), Is.False);
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Driver.KickNeeded(), Is.True);
    }

    [Test]
    public void EnableWithEventIdxPublishesAvailEvent()
    {
        using QueueHarness h = new(eventIdx: true);
        h.Queue.DisableNotification();
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Driver.KickNeeded(), Is.True, "avail_event 0 was passed");
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
        Assert.That(h.Driver.ReadAvailEvent(), Is.Zero, "disabled: avail_event does not advance");

        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Driver.KickNeeded(), Is.False);
        Assert.That(h.Queue.EnableNotification(), Is.True);
        Assert.That(h.Driver.ReadAvailEvent(), Is.EqualTo(2));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        Assert.That(h.Queue.EnableNotification(), Is.False);
        Assert.That(h.Driver.ReadAvailEvent(), Is.EqualTo(3));
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Driver.KickNeeded(), Is.True);
    }

    [Test]
    public void EmptyPopWithEventIdxRearmsKicks()
    {
        using QueueHarness h = new(eventIdx: true, start: 65534);
        for (int i = 0; i < 5; i++)
        {
            h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
            Assert.That(h.Driver.KickNeeded(), Is.True, $"round {i}: the device asked for this kick");
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
            h.Queue.PushUsed(h.Chain.Head, 0);
            Assert.That(h.Pop(), Is.EqualTo(PopResult.Empty));
            Assert.That(h.Driver.ReadAvailEvent(), Is.EqualTo(h.Queue.NextAvail));
        }
    }

    private static void Push(QueueHarness h)
    {
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(4), 4));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        h.Queue.PushUsed(h.Chain.Head, 0);
        h.Driver.TryGetUsed(out _, out _);
    }
}
