// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.Loopback;

namespace VirtioLoopback.Tests;

/// <summary>A device's back-end schedule: waiting for the socket, noticing a loss, backing off.</summary>
[TestFixture]
public class ServedDeviceTests
{
    private FakeControl _control = null!;
    private Queue<Func<IBackendLink>> _connects = null!;
    private ServedDevice _served = null!;

    [SetUp]
    public void SetUp()
    {
        _control = new FakeControl();
        _connects = new Queue<Func<IBackendLink>>();
        var device = new LoopbackDevice(_control, new LoopbackDeviceOptions(LoopbackDeviceOptions.RngId, 256, 1 << 20), () => _connects.Dequeue()());
        _served = new ServedDevice(device, "/run/rng.sock");
    }

    [TearDown]
    public void TearDown()
    {
        _served.Dispose();
        _control.Dispose();
    }

    [Test]
    public void AbsentSocket_IsRetriedWithoutCreatingTheKernelDevice()
    {
        _connects.Enqueue(() => throw new TimeoutException("no socket"));
        _served.Poll(0);
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.WaitingForBackend));
        Assert.That(_control.Calls, Has.No.Member("CREATE_DEVICE"));
        Assert.That(_served.TimeoutMs(0), Is.EqualTo(200));

        _served.Poll(100);
        Assert.That(_control.Calls, Has.No.Member("CREATE_DEVICE"), "not retried before its time");
        _connects.Enqueue(() => new FakeLink());
        _served.Poll(200);
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.Running));
        Assert.That(_control.Calls, Has.Exactly(1).EqualTo("CREATE_DEVICE"));
    }

    [Test]
    public void RefusedCreation_Throws()
    {
        _connects.Enqueue(() => new FakeLink { MaxQueueSize = 1 });
        Assert.That(() => _served.Poll(0), Throws.InstanceOf<InvalidOperationException>());
    }

    [Test]
    public void LostBackend_BacksOffDoublingUpToTheCap()
    {
        var first = new FakeLink();
        _connects.Enqueue(() => first);
        _served.Poll(0);
        first.Connected = false;
        _served.Poll(10);
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.Reconnecting));

        long now = 10;
        var delays = new List<int>();
        for (int i = 0; i < 8; i++)
        {
            int wait = _served.TimeoutMs(now);
            delays.Add(wait);
            now += wait;
            _connects.Enqueue(() => throw new TimeoutException("still gone"));
            _served.Poll(now);
            Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.Reconnecting));
        }

        Assert.That(delays, Is.EqualTo(new[] { 100, 200, 400, 800, 1600, 3200, 5000, 5000 }));
        _connects.Enqueue(() => new FakeLink());
        _served.Poll(now + _served.TimeoutMs(now));
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.Running));
        Assert.That(_control.Calls, Has.Exactly(1).EqualTo("CREATE_DEVICE"), "the kernel device outlives its back end");
    }

    [Test]
    public void BrokenRule_DestroysTheDevice_AndCreatesANewOneLater()
    {
        _connects.Enqueue(() => new FakeLink());
        _served.Poll(0);
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.Running));

        var broken = new LoopbackEvent { Type = LoopbackEventType.Broken, Handle = 7, Seq = 9, BrokenQueue = 0, BrokenRule = LoopbackRule.UsedId };
        _served.Device.HandleEvent(broken);
        Assert.That(_served.Device.IsBroken, Is.True);
        _served.Poll(10);
        Assert.That(_control.Calls, Has.Member("DESTROY_DEVICE 7"), "the failed kernel device goes");
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.WaitingForBackend));
        Assert.That(_served.Device.IsBroken, Is.False);

        _served.Poll(10 + ServedDevice.MaxBackoffMs - 1);
        Assert.That(_control.Calls, Has.Exactly(1).EqualTo("CREATE_DEVICE"), "not before the back-off");
        _connects.Enqueue(() => new FakeLink());
        _served.Poll(10 + ServedDevice.MaxBackoffMs);
        Assert.That(_served.State, Is.EqualTo(ServedDevice.Phase.Running));
        Assert.That(_control.Calls, Has.Exactly(2).EqualTo("CREATE_DEVICE"), "a new kernel device for the back end");
    }
}
