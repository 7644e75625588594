// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using NUnit.Framework;
using VirtioLoopback.Loopback;
using VirtioLoopback.Loopback.Profiles;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>The device state machine against a fake control channel and a fake back end.</summary>
[TestFixture]
public class LoopbackDeviceTests
{
    private const ulong PoolSize = 1 << 20;
    private FakeControl _control = null!;
    private List<FakeLink> _links = null!;
    private LoopbackDevice _device = null!;
    private int _wakes;

    [SetUp]
    public void SetUp()
    {
        _control = new FakeControl();
        _links = [];
        _wakes = 0;
    }

    [TearDown]
    public void TearDown()
    {
        _device?.Dispose();
        _control.Dispose();
    }

    [Test]
    public void LateAnswer_TheModuleStoppedWaiting_IsNotFatal()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink { QueueNum = 1 });
        _control.EventDoneTimedOut = true;
        Assert.That(() => _device.HandleEvent(Event(LoopbackEventType.Reset, 3, true)), Throws.Nothing,
            "a reply the module no longer waits for (ENOENT) must not end the adapter");
        Assert.That(_control.Calls, Has.Member("EVENT_DONE 3"));
    }

    [Test]
    public void Create_HandshakesThenCreatesAndAttachesEventfds()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink { QueueNum = 1 });
        FakeLink link = _links[0];
        Assert.That(link.Calls, Is.EqualTo(new[]
        {
            "GET_FEATURES", "GET_PROTOCOL_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER", "GET_QUEUE_NUM", "SET_BACKEND_REQ_FD", "SET_VRING_NUM 0 256",
        }), "rng has no config space: no GET_CONFIG; the queue size is checked under REPLY_ACK");
        Assert.Multiple(() =>
        {
            Assert.That(link.SetProtocolValue, Is.EqualTo(ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck | ProtocolFeatures.Config | ProtocolFeatures.BackendReq));
            Assert.That(_control.Created.DeviceId, Is.EqualTo(4u));
            Assert.That(_control.Created.DeviceFeatures & (1UL << 30), Is.Zero, "VHOST_USER_F_PROTOCOL_FEATURES is not a virtio feature");
            Assert.That(_control.Created.DeviceFeatures & (1UL << 32), Is.Not.Zero, "VERSION_1 kept");
            Assert.That(_control.Created.NumQueues, Is.EqualTo(1u));
            Assert.That(_control.Created.MaxQueueSize, Is.EqualTo(256u));
            Assert.That(_control.Created.PoolSize, Is.EqualTo(PoolSize));
            Assert.That(_control.Created.ConfigSize, Is.Zero);
            Assert.That(_control.QueueFds, Is.EqualTo(new[] { (0u, true, true) }));
            Assert.That(_device.Handle, Is.EqualTo(7u));
        });
    }

    [Test]
    public void Create_Input_FetchesConfigAndQueueCount()
    {
        var link = new FakeLink { QueueNum = 2 };
        link.ConfigSpace[0] = 0x11;
        link.ConfigSpace[135] = 0x22;
        Create(LoopbackDeviceOptions.InputId, link);
        Assert.That(link.Calls, Does.Contain("GET_CONFIG 0 136"));
        Assert.That(_control.InitialConfig, Has.Length.EqualTo(136));
        Assert.That((_control.InitialConfig[0], _control.InitialConfig[135]), Is.EqualTo(((byte)0x11, (byte)0x22)));
        Assert.That(_control.QueueFds, Has.Count.EqualTo(2));
    }

    [Test]
    public void Create_LowersTheQueueSizeToWhatTheBackendAccepts()
    {
        var link = new FakeLink { QueueNum = 2, MaxQueueSize = 64 };
        Create(LoopbackDeviceOptions.InputId, link);
        Assert.Multiple(() =>
        {
            Assert.That(_control.Created.MaxQueueSize, Is.EqualTo(64u), "vhost-user-blk refuses 256 by default: the driver must never see it");
            Assert.That(_device.MaxQueueSize, Is.EqualTo(64u));
            Assert.That(link.Calls, Is.SupersetOf(new[] { "SET_VRING_NUM 0 256", "SET_VRING_NUM 0 128", "SET_VRING_NUM 0 64", "SET_VRING_NUM 1 64" }));
            Assert.That(link.Calls, Has.No.Member("SET_VRING_NUM 1 128"), "queue 1 starts from the size queue 0 accepted");
        });
    }

    [Test]
    public void Create_WithoutReplyAck_KeepsTheQueueSizeUnchecked()
    {
        var link = new FakeLink { Protocol = ProtocolFeatures.Mq | ProtocolFeatures.Config, MaxQueueSize = 64 };
        Create(LoopbackDeviceOptions.RngId, link);
        Assert.That(_control.Created.MaxQueueSize, Is.EqualTo(256u));
        Assert.That(link.Calls, Has.None.StartsWith("SET_VRING_NUM"), "without an acknowledgement a refusal cannot be seen");
    }

    [Test]
    public void DriverOk_RefusedRingSetUp_ReportsEio()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink());
        _links[0].MaxQueueSize = 128;
        _control.Queues[0] = Queue(size: 256, desc: 0x0, avail: 0x1000, used: 0x1240);
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 3, true, features: 1));
        Assert.That(_control.Done[^1], Is.EqualTo((7u, 3UL, 5u)));
        Assert.That(_control.Calls, Does.Contain("FAIL_DEVICE 7 5"));
    }

    [Test]
    public void FirstReset_IsAnsweredWithEventDone()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink());
        _device.HandleEvent(Event(LoopbackEventType.Reset, seq: 1, needReply: true));
        Assert.That(_control.Done, Is.EqualTo(new[] { (7u, 1UL, 0u) }));
        Assert.That(_links[0].Calls, Has.None.StartsWith("GET_VRING_BASE"), "no ring runs yet");
    }

    [Test]
    public void DriverOk_StartsRingsWithUserAddressesInThePool()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink());
        FakeLink link = _links[0];
        _control.Queues[0] = Queue(size: 256, desc: 0x0, avail: 0x1000, used: 0x1240);
        link.Calls.Clear();
        _device.HandleEvent(Event(LoopbackEventType.Reset, 1, true));
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 2, false, features: (1UL << 33) | (1UL << 32) | (1UL << 29)));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 3, false, features: 1));

        Assert.That(link.Calls, Is.EqualTo(new[]
        {
            "SET_FEATURES", "SET_MEM_TABLE", "SET_VRING_NUM 0 256", "SET_VRING_ADDR 0", "SET_VRING_BASE 0 0",
            "SET_VRING_CALL 0", "SET_VRING_KICK 0", "SET_VRING_ERR 0", "SET_VRING_ENABLE 0 1",
        }));
        MemoryRegion region = link.MemTable!.Value.Region;
        VringAddress a = link.Addresses[0];
        Assert.Multiple(() =>
        {
            Assert.That(link.SetFeaturesValue, Is.EqualTo((1UL << 32) | (1UL << 30) | (1UL << 29)), "ACCESS_PLATFORM cleared, PROTOCOL_FEATURES set");
            Assert.That(region.GuestPhysAddr, Is.EqualTo(FakeControl.DmaBase));
            Assert.That(region.MemorySize, Is.EqualTo(PoolSize));
            Assert.That(region.MmapOffset, Is.Zero);
            Assert.That(region.UserAddr, Is.Not.Zero);
            Assert.That(a.DescUserAddr, Is.EqualTo(region.UserAddr));
            Assert.That(a.AvailUserAddr, Is.EqualTo(region.UserAddr + 0x1000));
            Assert.That(a.UsedUserAddr, Is.EqualTo(region.UserAddr + 0x1240));
        });
    }

    [Test]
    public void ResetAfterDriverOk_StopsRingsBeforeReplying()
    {
        StartRng();
        FakeLink link = _links[0];
        link.Calls.Clear();
        _control.Calls.Clear();
        _device.HandleEvent(Event(LoopbackEventType.Reset, 4, true));
        Assert.That(link.Calls, Is.EqualTo(new[] { "GET_VRING_BASE 0" }));
        Assert.That(_control.Calls, Is.EqualTo(new[] { "EVENT_DONE 4" }));

        // Start again: the memory table is not sent twice.
        link.Calls.Clear();
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 5, false, features: 1UL << 32));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 6, false, features: 1));
        Assert.That(link.Calls, Has.No.Member("SET_MEM_TABLE"));
        Assert.That(link.Calls, Does.Contain("SET_VRING_KICK 0"));
    }

    [Test]
    public void BackendFailureDuringReset_ReportsEio()
    {
        StartRng();
        _links[0].FailGetVringBase = true;
        _device.HandleEvent(Event(LoopbackEventType.Reset, 9, true));
        Assert.That(_control.Done[^1], Is.EqualTo((7u, 9UL, 5u)));
    }

    [Test]
    public void ConfigWrite_IsForwardedFetchedPushedThenAnswered()
    {
        var link = new FakeLink { QueueNum = 2 };
        Create(LoopbackDeviceOptions.InputId, link);
        link.Calls.Clear();
        _device.HandleEvent(ConfigWrite(seq: 3, offset: 0, 0x01, 0x02));
        Assert.That(link.Calls, Is.EqualTo(new[] { "SET_CONFIG 0 2", "GET_CONFIG 0 136" }));
        Assert.That(_control.Configs, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(_control.Configs[0].Data[0x80], Is.EqualTo(2), "the back end's answer reaches the kernel");
            Assert.That(_control.Configs[0].Notify, Is.False);
            Assert.That(_control.Calls[^1], Is.EqualTo("EVENT_DONE 3"), "the reply comes last");
        });
    }

    [Test]
    public void BackendConfigChange_IsPushedWithNotify()
    {
        var link = new FakeLink();
        Create(LoopbackDeviceOptions.BlockId, link);
        Assert.That(_control.InitialConfig, Has.Length.EqualTo(60));
        link.ConfigSpace[0] = 0x40;
        link.RaiseConfigChanged();
        Assert.That(_wakes, Is.EqualTo(1));
        _device.ProcessPendingWork();
        Assert.That(_control.Configs, Has.Count.EqualTo(1));
        Assert.That((_control.Configs[0].Data[0], _control.Configs[0].Notify), Is.EqualTo(((byte)0x40, true)));
    }

    [Test]
    public void Reconnect_ReplaysSetupFromTheUsedIndex()
    {
        StartRng();
        _links[0].Connected = false;
        _device.OnBackendLost();

        // The driver's used index in the pool is where the new back end starts.
        using (MappedMemory pool = MappedMemory.Map(_control.Pool!, 0, PoolSize, writable: true))
        {
            MemoryMarshal.Write(pool.GetSpan(0x1240 + 2, 2), (ushort)17);
        }

        _links.Add(new FakeLink());
        Assert.That(_device.TryReconnect(), Is.True);
        FakeLink link = _links[1];
        Assert.That(link.Calls, Is.EqualTo(new[]
        {
            "GET_FEATURES", "GET_PROTOCOL_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER", "SET_BACKEND_REQ_FD",
            "SET_FEATURES", "SET_MEM_TABLE", "SET_VRING_NUM 0 256", "SET_VRING_ADDR 0", "SET_VRING_BASE 0 17",
            "SET_VRING_CALL 0", "SET_VRING_KICK 0", "SET_VRING_ERR 0", "SET_VRING_ENABLE 0 1",
        }));
        Assert.That(_control.Calls, Has.Exactly(1).EqualTo("CREATE_DEVICE"), "the kernel device stays");
    }

    [Test]
    public void ResetWhileBackendLost_StillAnswers()
    {
        StartRng();
        _links[0].Connected = false;
        _device.OnBackendLost();
        _device.HandleEvent(Event(LoopbackEventType.Reset, 8, true));
        Assert.That(_control.Done[^1], Is.EqualTo((7u, 8UL, 0u)));
    }

    [Test]
    public void Destroy_DestroysTheKernelDevice()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink());
        _device.Destroy();
        Assert.That(_control.Calls[^1], Is.EqualTo("DESTROY_DEVICE 7"));
        Assert.That(_links[0].Calls[^1], Is.EqualTo("CLOSE"));
    }

    [Test]
    public void Destroy_StopsRunningRingsBeforeTheKernelFreesThePool()
    {
        StartRng();
        _links[0].Calls.Clear();
        _device.Destroy();
        Assert.That(_links[0].Calls, Is.EqualTo(new[] { "GET_VRING_BASE 0", "CLOSE" }));
        Assert.That(_control.Calls[^1], Is.EqualTo("DESTROY_DEVICE 7"));
    }

    [Test]
    public void Destroy_WithTheBackendGone_StillDestroys()
    {
        StartRng();
        _links[0].FailGetVringBase = true;
        _device.Destroy();
        Assert.That(_control.Calls[^1], Is.EqualTo("DESTROY_DEVICE 7"));
    }

    [Test]
    public void Inflight_IsFetchedOnceSharedBeforeTheRingsAndHandedToTheReconnectedBackend()
    {
        StartRng(ProtocolFeatures.InflightShmfd);
        FakeLink first = _links[0];
        Assert.That(first.Calls, Does.Contain("GET_INFLIGHT_FD 1 256"));
        int set = first.Calls.IndexOf("SET_INFLIGHT_FD 1 256");
        Assert.That(set, Is.GreaterThan(first.Calls.IndexOf("GET_INFLIGHT_FD 1 256")));
        Assert.That(set, Is.LessThan(first.Calls.IndexOf("SET_VRING_NUM 0 256", first.Calls.IndexOf("SET_FEATURES"))), "the area is shared before the rings start");

        first.Connected = false;
        _device.OnBackendLost();
        _links.Add(new FakeLink { Protocol = first.Protocol });
        Assert.That(_device.TryReconnect(), Is.True);
        FakeLink second = _links[1];
        Assert.That(second.Calls, Has.No.Member("GET_INFLIGHT_FD 1 256"), "a restarted back end must get the old area, not a new one");
        Assert.That(second.InflightReceived, Is.Not.Null);
        Assert.That(second.InflightReceived!.Value.Fd, Is.SameAs(first.InflightGiven[0].Fd));
        Assert.That(second.InflightReceived.Value.Fd.IsClosed, Is.False);
    }

    [Test]
    public void Inflight_IsDroppedOnDriverReset()
    {
        StartRng(ProtocolFeatures.InflightShmfd);
        FakeLink link = _links[0];
        _device.HandleEvent(Event(LoopbackEventType.Reset, 4, true));
        Assert.That(link.InflightGiven[0].Fd.IsClosed, Is.True, "nothing is in flight after a reset");
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 5, false, features: 1UL << 32));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 6, false, features: 1));
        Assert.That(link.InflightGiven, Has.Count.EqualTo(2), "a fresh area for the new driver session");
    }

    [Test]
    public void VringError_StopsTheRingsAndFailsTheDevice()
    {
        StartRng();
        FakeLink link = _links[0];
        Assert.That(link.ErrFds.Keys, Is.EqualTo(new[] { 0u }), "every ring gets the error eventfd");
        Assert.That(link.ErrFds[0].DangerousFd, Is.EqualTo(_device.VringErrorFd.DangerousFd));
        link.Calls.Clear();

        // The back end found ring 0 broken and signals its error eventfd (as vhost-user-blk does).
        using (EventFd err = EventFd.Adopt(link.ErrFds[0].Duplicate()))
        {
            err.Signal();
        }

        _device.OnVringError();
        Assert.That(link.Calls, Is.EqualTo(new[] { "GET_VRING_BASE 0" }), "the rings stop before the device fails");
        Assert.That(_control.Calls[^1], Is.EqualTo("FAIL_DEVICE 7 5"), "EIO: the driver's requests end with an error");

        // A second signal once the rings have stopped changes nothing.
        int calls = _control.Calls.Count;
        using (EventFd err = EventFd.Adopt(link.ErrFds[0].Duplicate()))
        {
            err.Signal();
        }

        _device.OnVringError();
        Assert.That(_control.Calls, Has.Count.EqualTo(calls));
    }

    [Test]
    public void VringErrRefused_TheRingsStillStart()
    {
        var link = new FakeLink { RefuseVringErr = true };
        Create(LoopbackDeviceOptions.RngId, link);
        _control.Queues[0] = Queue(256, 0x0, 0x1000, 0x1240);
        _device.HandleEvent(Event(LoopbackEventType.Reset, 1, true));
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 2, false, features: 1UL << 32));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 3, true, features: 1));
        Assert.That(link.Calls, Does.Contain("SET_VRING_ENABLE 0 1"), "the error channel is optional");
        Assert.That(_control.Calls, Has.None.StartsWith("FAIL_DEVICE"));
        Assert.That(_control.Done[^1], Is.EqualTo((7u, 3UL, 0u)));
    }

    [Test]
    public void VringError_SignalledBeforeDriverOk_DoesNotFailTheNextSession()
    {
        StartRng();
        FakeLink link = _links[0];
        _device.HandleEvent(Event(LoopbackEventType.Reset, 4, true));
        using (EventFd err = EventFd.Adopt(link.ErrFds[0].Duplicate()))
        {
            err.Signal();
        }

        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 5, false, features: 1UL << 32));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 6, false, features: 1));
        _device.OnVringError();
        Assert.That(_control.Calls, Has.None.StartsWith("FAIL_DEVICE"), "the old session's error is not the new one's");
    }

    [Test]
    public void RingsRefusedAtDriverOk_FailTheDevice()
    {
        Create(LoopbackDeviceOptions.RngId, new FakeLink());
        _control.Queues[0] = Queue(256, 0x0, 0x1000, 0x1240);
        _links[0].MaxQueueSize = 64; // the back end now refuses the ring the driver set up
        _device.HandleEvent(Event(LoopbackEventType.Reset, 1, true));
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 2, false, features: 1UL << 32));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 3, false, features: 1));
        Assert.That(_control.Calls[^1], Is.EqualTo("FAIL_DEVICE 7 5"), "EIO, so the driver's requests fail instead of waiting");
    }

    [Test]
    public void Inflight_IsNotUsedWithoutTheProtocolFeature()
    {
        StartRng();
        Assert.That(_links[0].Calls, Has.No.Member("GET_INFLIGHT_FD 1 256"));
        Assert.That(_links[0].InflightReceived, Is.Null);
    }

    [Test]
    public void Fs_WithoutBackendConfig_CreatesTheTagConfigAndForwardsNoConfigWrites()
    {
        var link = new FakeLink { QueueNum = 2, Protocol = ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck };
        var fs = new FsProfile();
        Assert.That(fs.SetOption("--tag", "share"), Is.Null);
        Create(new LoopbackDeviceOptions(fs, 128, PoolSize), link);
        var expected = new byte[40];
        "share"u8.CopyTo(expected);
        expected[36] = 1;
        Assert.Multiple(() =>
        {
            Assert.That(_control.InitialConfig, Is.EqualTo(expected));
            Assert.That(_control.Created.DeviceId, Is.EqualTo(26u));
            Assert.That(_control.Created.NumQueues, Is.EqualTo(2u), "hiprio + one request queue");
            Assert.That(link.Calls, Has.None.StartsWith("GET_CONFIG"));
        });
        link.Calls.Clear();
        _device.HandleEvent(ConfigWrite(seq: 4, offset: 0, 0x41));
        Assert.That(link.Calls, Is.Empty, "nothing to forward to");
        Assert.That(_control.Done[^1], Is.EqualTo((7u, 4UL, 0u)));
    }

    [Test]
    public void Net_OffersFrontendBitsToTheDriverButNeverToTheBackend()
    {
        const ulong ctrlVq = 1UL << 17, mq = 1UL << 22, mac = 1UL << 5, status = 1UL << 16, mrgRxbuf = 1UL << 15;
        var link = new FakeLink { QueueNum = 4 };
        link.Features |= ctrlVq | mq | mrgRxbuf;
        var net = new NetProfile();
        Assert.That(net.SetOption("--mac", "52:54:00:00:00:01"), Is.Null);
        Create(new LoopbackDeviceOptions(net, 256, PoolSize), link);
        Assert.Multiple(() =>
        {
            Assert.That(_control.Created.DeviceFeatures & (ctrlVq | mq), Is.Zero, "no control queue, so no MQ");
            Assert.That(_control.Created.DeviceFeatures & (mac | status | mrgRxbuf), Is.EqualTo(mac | status | mrgRxbuf));
            Assert.That(_control.Created.NumQueues, Is.EqualTo(2u), "one rx/tx pair although the back end has 4");
            Assert.That(_control.InitialConfig[..6], Is.EqualTo(new byte[] { 0x52, 0x54, 0, 0, 0, 1 }));
        });
        _control.Queues[0] = Queue(256, 0x0, 0x1000, 0x1240);
        _control.Queues[1] = Queue(256, 0x4000, 0x5000, 0x5240);
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 1, false, features: (1UL << 32) | mac | status | mrgRxbuf));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 2, false));
        Assert.That(link.SetFeaturesValue, Is.EqualTo((1UL << 32) | (1UL << 30) | mrgRxbuf), "MAC and STATUS are the front end's");
    }

    [Test]
    public void Blk_WithoutBackendConfig_IsRefusedWithAReason()
    {
        var link = new FakeLink { Protocol = ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck };
        _links.Add(link);
        _device = new LoopbackDevice(_control, new LoopbackDeviceOptions(LoopbackDeviceOptions.BlockId, 128, PoolSize), () => link);
        Assert.That(() => _device.Create(), Throws.InvalidOperationException.With.Message.EqualTo(
            "device blk takes its config space from the back end, which does not offer VHOST_USER_PROTOCOL_F_CONFIG"));
        Assert.That(_control.Calls, Has.None.EqualTo("CREATE_DEVICE"));
    }

    [Test]
    public void Vsock_GuestCidIsTheFrontEnds_NotAskedOfTheBackend()
    {
        var link = new FakeLink { QueueNum = 3 };
        link.ConfigSpace[0] = 9;
        var vsock = new VsockProfile();
        Assert.That(vsock.SetOption("--guest-cid", "5"), Is.Null);
        Create(new LoopbackDeviceOptions(vsock, 128, PoolSize), link);
        Assert.That(_control.InitialConfig, Is.EqualTo(new byte[] { 5, 0, 0, 0, 0, 0, 0, 0 }));
        Assert.That(link.Calls, Has.None.StartsWith("GET_CONFIG"), "the front end owns all of it");
        link.RaiseConfigChanged();
        _device.ProcessPendingWork();
        Assert.That(_control.Configs, Is.Empty, "a back end's config change cannot replace the front end's CID");
    }

    [Test]
    public void Console_MultiportFromTheBackendsConfig()
    {
        var link = new FakeLink { QueueNum = 64, Features = (1UL << 32) | (1UL << 30) | 0b10 };
        link.ConfigSpace[4] = 3;
        Create(new LoopbackDeviceOptions(new ConsoleProfile(), 128, PoolSize), link);
        Assert.That(link.Calls, Does.Contain("GET_CONFIG 0 12"));
        Assert.That(_control.Created.NumQueues, Is.EqualTo(8u), "port 0, control, ports 1 and 2");
    }

    private void StartRng(ProtocolFeatures extra = ProtocolFeatures.None)
    {
        var link = new FakeLink();
        link.Protocol |= extra;
        Create(LoopbackDeviceOptions.RngId, link);
        _control.Queues[0] = Queue(256, 0x0, 0x1000, 0x1240);
        _device.HandleEvent(Event(LoopbackEventType.Reset, 1, true));
        _device.HandleEvent(Event(LoopbackEventType.FeaturesOk, 2, false, features: 1UL << 32));
        _device.HandleEvent(Event(LoopbackEventType.DriverOk, 3, false, features: 1));
    }

    private void Create(uint deviceId, FakeLink first) => Create(new LoopbackDeviceOptions(deviceId, 256, PoolSize), first);

    private void Create(LoopbackDeviceOptions options, FakeLink first)
    {
        _links.Add(first);
        int next = 0;
        _device = new LoopbackDevice(
            _control,
            options,
            () => _links[next++],
            () => _wakes++);
        _device.Create();
    }

    private static LoopbackQueueInfo Queue(uint size, ulong desc, ulong avail, ulong used) => new()
    {
        Handle = 7,
        Size = size,
        Ready = LoopbackUapi.QueueReady,
        DescAddr = FakeControl.DmaBase + desc,
        AvailAddr = FakeControl.DmaBase + avail,
        UsedAddr = FakeControl.DmaBase + used,
    };

    private static LoopbackEvent Event(LoopbackEventType type, ulong seq, bool needReply, ulong features = 0) => new()
    {
        Type = type,
        Handle = 7,
        Seq = seq,
        Flags = needReply ? LoopbackEvent.FlagNeedReply : 0,
        Features = features,
    };

    private static unsafe LoopbackEvent ConfigWrite(ulong seq, uint offset, params byte[] data)
    {
        LoopbackEvent e = Event(LoopbackEventType.ConfigWrite, seq, true);
        e.ConfigOffset = offset;
        e.ConfigSize = (uint)data.Length;
        for (int i = 0; i < data.Length; i++)
        {
            e.ConfigData[i] = data[i];
        }

        return e;
    }
}
