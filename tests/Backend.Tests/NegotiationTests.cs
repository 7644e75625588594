// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class NegotiationTests
{
    [Test]
    public void GetFeatures_OffersDeviceRingAndProtocolFeatureBits()
    {
        var device = new FakeDevice { DeviceFeatures = VirtioFeatures.Version1 | FakeDevice.FeatureBit0 | VirtioFeatures.RingPacked };
        using var h = new BackendHarness(device, negotiate: false);
        ulong features = h.Frontend.GetFeatures();
        ulong expected = VirtioFeatures.Version1 | FakeDevice.FeatureBit0 | VirtioFeatures.RingIndirectDesc
            | VirtioFeatures.RingEventIdx | VirtioFeatures.NotifyOnEmpty | ProtocolFeatureBits.VhostUserFProtocolFeatures;
        Assert.That(features, Is.EqualTo(expected), "packed rings are never offered; ACCESS_PLATFORM only if the device has it");
    }

    [Test]
    public void SetFeatures_AcksSubsetAndTellsTheDevice()
    {
        using var h = new BackendHarness(negotiate: false);
        h.Frontend.SetProtocolFeatures(ProtocolFeatures.ReplyAck);
        ulong subset = VirtioFeatures.Version1 | FakeDevice.FeatureBit5 | VirtioFeatures.RingEventIdx;
        h.Frontend.SetFeatures(subset);
        Assert.That(h.Device.AckedFeatures, Is.EqualTo(subset));
    }

    [Test]
    public void SetFeatures_NotOffered_IsRefused()
    {
        using var h = new BackendHarness(negotiate: false);
        h.Frontend.SetProtocolFeatures(ProtocolFeatures.ReplyAck);
        Assert.Throws<VhostUserException>(() => h.Frontend.SetFeatures(VirtioFeatures.Version1 | VirtioFeatures.AccessPlatform));
        Assert.That(h.Device.AckedFeatures, Is.Null);
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void GetProtocolFeatures_OffersTheBaseSetPlusTheDevicesOwn()
    {
        using var h = new BackendHarness(negotiate: false);
        ProtocolFeatures offered = h.Frontend.GetProtocolFeatures();
        // The fake device has a config space, so CONFIG is offered on top of the base set.
        Assert.That(offered, Is.EqualTo(BackendHandler.BaseProtocolFeatures | ProtocolFeatures.Config | ProtocolFeatures.InflightShmfd));
        Assert.That(offered.HasFlag(ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck | ProtocolFeatures.Config | ProtocolFeatures.BackendReq
            | ProtocolFeatures.ResetDevice | ProtocolFeatures.Status | ProtocolFeatures.ConfigureMemSlots), Is.True);
    }

    [Test]
    public void GetProtocolFeatures_DeviceWithoutConfigSpace_DoesNotOfferConfig()
    {
        using var h = new BackendHarness(new FakeDevice(configSize: 0), negotiate: false);
        ProtocolFeatures offered = h.Frontend.GetProtocolFeatures();
        Assert.That(offered.HasFlag(ProtocolFeatures.Config), Is.False);
        Assert.That(offered.HasFlag(BackendHandler.BaseProtocolFeatures), Is.True);
    }

    [Test]
    public void SetProtocolFeatures_NotOffered_IsRefusedAndNothingIsNegotiated()
    {
        using var h = new BackendHarness(negotiate: false);
        Span<byte> body = stackalloc byte[8];
        new U64Payload((ulong)(ProtocolFeatures.ReplyAck | ProtocolFeatures.LogShmfd)).Write(body);
        Assert.That(h.SendRaw((uint)FrontendRequest.SetProtocolFeatures, VhostUserHeader.Version1, body), Is.Null);
        Assert.That(h.Handler.NegotiatedProtocolFeatures, Is.EqualTo(ProtocolFeatures.None));
    }

    [Test]
    public void GetQueueNum_ReturnsTheDevicesQueueCount()
    {
        using var h = new BackendHarness(new FakeDevice { QueueCount = 3 });
        Assert.That(h.Frontend.GetQueueNum(), Is.EqualTo(3));
    }

    [Test]
    public void GetQueueNum_WithoutMq_GetsAnEmptyErrorReply()
    {
        using var h = new BackendHarness(negotiate: false);
        var reply = h.SendRaw((uint)FrontendRequest.GetQueueNum, VhostUserHeader.Version1, ReadOnlySpan<byte>.Empty);
        Assert.That(reply, Is.Not.Null);
        Assert.That(reply!.Value.Header.IsReply, Is.True);
        Assert.That(reply.Value.Payload, Is.Empty);
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void GetMaxMemSlots_Returns32()
    {
        using var h = new BackendHarness();
        Assert.That(h.Frontend.GetMaxMemSlots(), Is.EqualTo((ulong)BackendHandler.MaxMemSlots).And.EqualTo(32));
    }

    [Test]
    public void ReplyAck_AnswersZeroOnSuccessAndOneOnFailure()
    {
        using var h = new BackendHarness(negotiate: false);
        h.Frontend.SetProtocolFeatures(ProtocolFeatures.ReplyAck);
        Assert.That(h.SendWithAck(FrontendRequest.SetOwner, ReadOnlySpan<byte>.Empty), Is.EqualTo(0));
        Assert.That(h.SendWithAck(FrontendRequest.SendRarp, new byte[8]), Is.EqualTo(1), "unsupported request");
        Span<byte> state = stackalloc byte[VringState.Size];
        new VringState(0, 3).Write(state);
        Assert.That(h.SendWithAck(FrontendRequest.SetVringNum, state), Is.EqualTo(1), "not a power of two");
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void NeedReply_WithoutReplyAckNegotiated_GetsNoAnswer()
    {
        using var h = new BackendHarness(negotiate: false);
        Assert.That(h.SendWithAck(FrontendRequest.SetOwner, ReadOnlySpan<byte>.Empty), Is.Null);
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void ResetOwner_DisablesRings()
    {
        using var h = new BackendHarness();
        var (q, kick, _) = h.StartRing(0);
        Assert.That(h.Handler.Vrings[0].IsEnabled, Is.True);
        h.Frontend.ResetOwner();
        Assert.That(h.Handler.Vrings[0].IsEnabled, Is.False);
        Assert.That(h.Handler.Vrings[0].IsStarted, Is.True, "RESET_OWNER is not a reset");
    }
}
