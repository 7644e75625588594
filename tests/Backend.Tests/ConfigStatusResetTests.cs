// SPDX-License-Identifier: MIT
using System;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class ConfigStatusResetTests
{
    [Test]
    public void GetConfig_ReturnsTheDevicesBytes()
    {
        using var h = new BackendHarness();
        Assert.That(h.Frontend.GetConfig(4, 8), Is.EqualTo(h.Device.Config[4..12]));
        Assert.That(h.Frontend.GetConfig(0, 16), Is.EqualTo(h.Device.Config));
    }

    [TestCase(0u, 17u)]
    [TestCase(12u, 8u)]
    [TestCase(16u, 1u)]
    public void GetConfig_BeyondTheConfigSpace_IsRefused(uint offset, uint size)
    {
        using var h = new BackendHarness();
        Assert.Throws<VhostUserException>(() => h.Frontend.GetConfig(offset, size));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void GetConfig_WithoutTheConfigFeature_IsRefused()
    {
        using var h = new BackendHarness(protocolFeatures: ProtocolFeatures.ReplyAck);
        Span<byte> body = stackalloc byte[ConfigSpace.HeaderSize + 4];
        new ConfigSpace(0, 4, 0).Write(body);
        var reply = h.SendRaw((uint)FrontendRequest.GetConfig, VhostUserHeader.Version1, body);
        Assert.That(reply, Is.Not.Null);
        Assert.That(reply!.Value.Payload, Is.Empty);
    }

    [Test]
    public void SetConfig_WritesThroughTheDevice_WithinRange()
    {
        using var h = new BackendHarness();
        h.Frontend.SetConfig(2, new byte[] { 1, 2, 3 });
        Assert.That(h.Device.Config[2..5], Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.Throws<VhostUserException>(() => h.Frontend.SetConfig(15, new byte[] { 1, 2 }));
        h.Device.RefuseConfigWrites = true;
        Assert.Throws<VhostUserException>(() => h.Frontend.SetConfig(0, new byte[] { 9 }));
        Assert.That(h.Device.Config[0], Is.EqualTo(0xa0));
    }

    [Test]
    public void Status_IsStoredAndReadBack()
    {
        using var h = new BackendHarness();
        Assert.That(h.Frontend.GetStatus(), Is.EqualTo(0));
        h.Frontend.SetStatus(0x0f);
        Assert.That(h.Frontend.GetStatus(), Is.EqualTo(0x0f));
    }

    [Test]
    public void StatusZero_ThenGetVringBase_ReturnsTheRingPosition()
    {
        // QEMU's vhost_dev_stop order: SET_STATUS(0) first, then GET_VRING_BASE, whose answer it
        // keeps as the queue's last_avail_idx. A reset in between would hand it 0.
        using var h = new BackendHarness();
        var (queue, kick, _) = h.StartRing(0);
        h.Frontend.SetStatus(0x0f);
        ushort head = 0;
        for (int i = 0; i < 3; i++)
        {
            head = h.Submit(queue, kick, 1);
        }

        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        h.Frontend.SetStatus(0);
        Assert.That(h.Frontend.GetStatus(), Is.EqualTo(0));
        Assert.That(h.Device.ResetCount, Is.EqualTo(0));
        Assert.That(h.Frontend.GetVringBase(0), Is.EqualTo(3u));
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.False);
    }

    [Test]
    public void ResetDevice_StopsRingsResetsThemAndTheDevice()
    {
        using var h = new BackendHarness();
        h.StartRing(0);
        h.StartRing(1);
        h.Frontend.ResetDevice();
        Assert.That(h.Device.ResetCount, Is.EqualTo(1));
        Assert.That(h.Device.Calls, Does.Contain("stop0").And.Contain("stop1"));
        Assert.That(h.Handler.Vrings[1].Size, Is.EqualTo(0));

        // The session goes on: the rings can be set up again.
        h.Frontend.SetFeatures(h.Frontend.GetFeatures());
        var (queue, kick, _) = h.StartRing(0);
        ushort head = h.Submit(queue, kick, 3);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
    }

    [Test]
    public void ResetDevice_WithoutTheFeature_IsRefused()
    {
        using var h = new BackendHarness(protocolFeatures: ProtocolFeatures.ReplyAck);
        Assert.Throws<VhostUserException>(() => h.Frontend.ResetDevice());
        Assert.That(h.Device.ResetCount, Is.EqualTo(0));
    }

    [Test]
    public void NotifyConfigChanged_ReachesTheFrontEnd_FromAnyThread()
    {
        using var h = new BackendHarness();
        Assert.That(h.Device.Host!.NotifyConfigChanged(), Is.False, "no back-end channel yet");
        using var changed = new ManualResetEventSlim();
        h.Frontend.ConfigChanged += (_, _) => changed.Set();
        h.Frontend.SetBackendReqFd();
        bool sent = false;
        var thread = new Thread(() => sent = h.Device.Host.NotifyConfigChanged());
        thread.Start();
        thread.Join();
        Assert.That(sent, Is.True, "acknowledged by the front end");
        Assert.That(changed.Wait(5000), Is.True);
    }
}
