// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class RingStateTests
{
    [Test]
    public void Ring_StartsOnlyWithTheKick_AndThenEchoesAndNotifies()
    {
        using var h = new BackendHarness();
        var queue = new DriverQueue(h.Memory, 16);
        EventFd call = h.NewEventFd();
        EventFd kick = h.NewEventFd();
        h.Frontend.SetVringNum(0, 16);
        h.Frontend.SetVringAddr(BackendHarness.AddressOf(0, queue));
        h.Frontend.SetVringBase(0, 0);
        h.Frontend.SetVringCall(0, call.Handle);
        h.Frontend.SetVringEnable(0, true);
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.False);
        Assert.That(h.Device.CountCalls("start0"), Is.EqualTo(0));

        h.Frontend.SetVringKick(0, kick.Handle);
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.True);
        Assert.That(h.Device.CountCalls("start0"), Is.EqualTo(1));

        ushort head = h.Submit(queue, kick, 0x5a);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out uint len) && id == head && len == 8), Is.True);
        Assert.That(Wait.Until(() => call.TryRead(out _)), Is.True, "call eventfd signalled");
        Assert.That(h.Device.Popped, Is.EqualTo(new[] { (0, head) }));
    }

    [Test]
    public void ProtocolFeatures_RingsStartDisabled_AndKicksWaitForEnable()
    {
        using var h = new BackendHarness();
        var (queue, kick, call) = h.StartRing(0, enable: false);
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.True);
        Assert.That(h.Handler.Vrings[0].IsEnabled, Is.False);
        ushort head = h.Submit(queue, kick, 1);
        Assert.That(Wait.Until(() => h.Handler.Vrings[0].KickPending, 2000), Is.True);
        Assert.That(h.Device.Popped, Is.Empty, "a disabled ring is left alone");

        h.Frontend.SetVringEnable(0, true);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
    }

    [Test]
    public void SetFeatures_WithoutProtocolFeatures_EnablesEveryRing()
    {
        using var h = new BackendHarness(negotiate: false);
        h.Frontend.SetOwner();
        h.Frontend.SetFeatures(VirtioFeatures.Version1);
        h.SetMemTable();

        // No REPLY_ACK here, so the requests are not synchronous.
        Assert.That(Wait.Until(() => h.Handler.Vrings[0].IsEnabled && h.Handler.Vrings[1].IsEnabled), Is.True);
        var (queue, kick, _) = h.StartRing(1, enable: false);
        ushort head = h.Submit(queue, kick, 2);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
    }

    [Test]
    public void GetVringBase_StopsWithoutReset_AndReturnsNextAvail()
    {
        using var h = new BackendHarness();
        var (queue, kick, _) = h.StartRing(0);
        for (byte i = 0; i < 3; i++)
        {
            ushort head = h.Submit(queue, kick, i);
            Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        }

        Assert.That(h.Frontend.GetVringBase(0), Is.EqualTo(3));
        Assert.That(h.Device.CountCalls("stop0"), Is.EqualTo(1));
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.False);
        Assert.That(h.Handler.Vrings[0].Size, Is.EqualTo(16), "the configuration is kept");

        // A stopped ring ignores kicks.
        h.Submit(queue, kick, 9);
        Assert.That(Wait.Until(() => h.Device.Popped.Count > 3, 300), Is.False);

        // Restart where it stopped: the pending chain is processed.
        EventFd kick2 = h.NewEventFd();
        h.Frontend.SetVringBase(0, 3);
        h.Frontend.SetVringKick(0, kick2.Handle);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out _, out _)), Is.True);
        Assert.That(h.Device.Popped, Has.Count.EqualTo(4));
    }

    [Test]
    public void EnableZero_ThenGetVringBase_AsQemu72Does()
    {
        using var h = new BackendHarness();
        var (queue, kick, _) = h.StartRing(0);
        ushort head = h.Submit(queue, kick, 1);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        h.Frontend.SetVringEnable(0, false);
        h.Submit(queue, kick, 2);
        Assert.That(h.Frontend.GetVringBase(0), Is.EqualTo(1), "the chain that came while disabled is not consumed");
        Assert.That(h.Device.CountCalls("stop0"), Is.EqualTo(1));
    }

    [Test]
    public void Restart_WithAnotherBase_ContinuesFromIt()
    {
        using var h = new BackendHarness();
        var (queue, kick, _) = h.StartRing(0, enable: false);
        ushort first = h.Submit(queue, kick, 1);
        ushort second = h.Submit(queue, kick, 2);
        Assert.That(h.Frontend.GetVringBase(0), Is.EqualTo(0));

        // The front end skips the first chain: it says processing resumes at 1.
        EventFd kick2 = h.NewEventFd();
        h.Frontend.SetVringBase(0, 1);
        h.Frontend.SetVringKick(0, kick2.Handle);
        h.Frontend.SetVringEnable(0, true);
        Assert.That(Wait.Until(() => h.Device.Popped.Count == 1), Is.True);
        Assert.That(h.Device.Popped[0].Head, Is.EqualTo(second));
        Assert.That(first, Is.Not.EqualTo(second));
    }

    [Test]
    public void SetVringCall_WhileRunning_SwapsTheFd()
    {
        using var h = new BackendHarness();
        var (queue, kick, oldCall) = h.StartRing(0);

        // NOTIFY_ON_EMPTY: the pass at start may already have notified the empty ring.
        Wait.Until(() => oldCall.TryRead(out _), 200);
        EventFd newCall = h.NewEventFd();
        h.Frontend.SetVringCall(0, newCall.Handle);
        h.Submit(queue, kick, 1);
        Assert.That(Wait.Until(() => newCall.TryRead(out _)), Is.True);
        Assert.That(oldCall.TryRead(out _), Is.False);
    }

    [Test]
    public void SetVringCall_WithAMemfd_IsRefusedAndTheRunningCallStays()
    {
        using var h = new BackendHarness();
        var (queue, kick, call) = h.StartRing(0);
        Wait.Until(() => call.TryRead(out _), 200);
        using FileDescriptor memfd = MemFd.Create("not-an-eventfd", 4096);
        Span<byte> body = stackalloc byte[8];
        new U64Payload(0).Write(body);
        Assert.That(h.SendWithAck(FrontendRequest.SetVringCall, body, [memfd]), Is.Not.EqualTo(0UL));

        // The refused fd was not kept: the old call fd still signals completions.
        ushort head = h.Submit(queue, kick, 1);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        Assert.That(Wait.Until(() => call.TryRead(out _)), Is.True);
    }

    [Test]
    public void NoFdCall_MeansNoNotification_ButTheRingRuns()
    {
        using var h = new BackendHarness();
        var (queue, kick, call) = h.StartRing(0);
        h.Frontend.SetVringCall(0, null);
        call.TryRead(out _);
        ushort head = h.Submit(queue, kick, 1);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        Assert.That(call.TryRead(out _), Is.False);
    }

    [Test]
    public void NoFdKick_LeavesTheRingStopped()
    {
        using var h = new BackendHarness();
        var queue = new DriverQueue(h.Memory, 16);
        h.Frontend.SetVringNum(0, 16);
        h.Frontend.SetVringAddr(BackendHarness.AddressOf(0, queue));
        h.Frontend.SetVringKick(0, null);
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.False);
        Assert.That(h.Logs.Has(65), Is.True);

        // And a started ring given NOFD stops.
        var (_, _, _) = h.StartRing(1);
        h.Frontend.SetVringKick(1, null);
        Assert.That(h.Handler.Vrings[1].IsStarted, Is.False);
        Assert.That(h.Device.CountCalls("stop1"), Is.EqualTo(1));
    }

    [Test]
    public void Kick_BeforeAddresses_IsRefused()
    {
        using var h = new BackendHarness();
        h.Frontend.SetVringNum(0, 16);
        EventFd kick = h.NewEventFd();
        Assert.Throws<VhostUserException>(() => h.Frontend.SetVringKick(0, kick.Handle));
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.False);
    }

    [Test]
    public void DeviceThrows_BreaksOnlyThatRing_AndSignalsErr()
    {
        var device = new FakeDevice { ThrowOnQueue = 0 };
        using var h = new BackendHarness(device);
        EventFd err = h.NewEventFd();
        h.Frontend.SetVringErr(0, err.Handle);
        var (q0, kick0, _) = h.StartRing(0);
        var (q1, kick1, _) = h.StartRing(1);
        h.Submit(q0, kick0, 1);
        Assert.That(Wait.Until(() => h.Handler.Vrings[0].IsBroken), Is.True);
        Assert.That(Wait.Until(() => err.TryRead(out _)), Is.True);
        Assert.That(h.Handler.Vrings[0].BrokenReason, Does.Contain("device failure for the test"));
        Assert.That(h.Logs.Has(62) && h.Logs.Has(63), Is.True);

        ushort head = h.Submit(q1, kick1, 2);
        Assert.That(Wait.Until(() => q1.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        Assert.That(h.StillServes(), Is.True);

        // GET_VRING_BASE still stops the broken ring, and a restart clears the breakage.
        h.Frontend.GetVringBase(0);
        device.ThrowOnQueue = -1;
        EventFd kick = h.NewEventFd();
        h.Frontend.SetVringBase(0, 0);
        h.Frontend.SetVringKick(0, kick.Handle);
        Assert.That(h.Handler.Vrings[0].IsBroken, Is.False);
    }

    [Test]
    public void GuestError_BreaksTheRing_LogsOnce()
    {
        using var h = new BackendHarness();
        EventFd err = h.NewEventFd();
        h.Frontend.SetVringErr(0, err.Handle);
        var (queue, kick, _) = h.StartRing(0);
        queue.WriteAvailEntry(0, 999);
        queue.SetAvailIdx(1);
        kick.Signal();
        Assert.That(Wait.Until(() => h.Handler.Vrings[0].IsBroken), Is.True);
        Assert.That(Wait.Until(() => err.TryRead(out _)), Is.True);
        kick.Signal();

        // Once the worker has taken the second kick and finished with it (the SET_VRING_CALL that
        // follows runs on the same thread, after it), the breakage must still be logged only once.
        Assert.That(Wait.Until(() => !IsReadable(kick)), Is.True, "the broken ring's kick was not consumed");
        h.Frontend.SetVringCall(0, h.NewEventFd().Handle);
        Assert.That(h.Logs.Entries.FindAll(e => e.EventId == 62), Has.Count.EqualTo(1));
    }

    [Test]
    public void DeviceFds_DeliverEventsWithTheDevicesToken()
    {
        var device = new FakeDevice();
        using var source = EventFd.Create();
        device.StartFds[1] = source;
        using var h = new BackendHarness(device);
        h.StartRing(1);
        source.Signal();
        Assert.That(Wait.Until(() => { lock (device.Events) { return device.Events.Count > 0; } }), Is.True);
        lock (device.Events)
        {
            Assert.That(device.Events[0], Is.EqualTo((1, 101UL)));
        }

        h.Frontend.GetVringBase(1);
        Assert.That(h.Logs.Has(94), Is.False, "the device removed its fd in Stop");
    }

    [TestCase(0u)]
    [TestCase(3u)]
    [TestCase(512u)]
    [TestCase(0x10000u)]
    public void SetVringNum_NotAPowerOfTwoWithinTheMaximum_IsRefused(uint num)
    {
        using var h = new BackendHarness();
        Assert.Throws<VhostUserException>(() => h.Frontend.SetVringNum(0, num));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void QueueIndex_OutOfRange_IsRefused()
    {
        using var h = new BackendHarness();
        Assert.Throws<VhostUserException>(() => h.Frontend.SetVringNum(2, 16));
        Assert.Throws<VhostUserException>(() => h.Frontend.SetVringEnable(7, true));
        EventFd fd = h.NewEventFd();
        Assert.Throws<VhostUserException>(() => h.Frontend.SetVringCall(2, fd.Handle));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void EventIdx_Negotiated_SuppressesNotificationsUntilUsedEvent()
    {
        using var h = new BackendHarness(features: VirtioFeatures.Version1 | VirtioFeatures.RingEventIdx | VhostUser.Protocol.ProtocolFeatureBits.VhostUserFProtocolFeatures);
        var (queue, kick, call) = h.StartRing(0);
        queue.EventIdx = true;
        queue.SetUsedEvent(5);

        // The first decision after a start may notify (nothing signalled yet); drain it once the
        // start's pass is over (the SET_VRING_CALL runs on the ring's thread after it).
        h.Frontend.SetVringCall(0, call.Handle);
        call.TryRead(out _);
        for (byte i = 0; i < 3; i++)
        {
            ushort head = h.Submit(queue, kick, i);
            Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        }

        // The notification decision follows the push in the same pass: wait for that pass to end.
        h.Frontend.SetVringCall(0, call.Handle);
        Assert.That(call.TryRead(out _), Is.False, "used_event 5 not reached yet");
    }

    private static bool IsReadable(EventFd fd)
    {
        using Epoll epoll = Epoll.Create();
        epoll.Add(fd.Handle, EpollEvents.In, 0);
        return epoll.Wait(new EpollEvent[1], 0) > 0;
    }
}
