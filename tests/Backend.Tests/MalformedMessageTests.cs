// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>Hostile or broken front ends: every message is answered, only framing errors close.</summary>
[TestFixture]
[CancelAfter(30000)]
public sealed class MalformedMessageTests
{
    private const uint NeedReply = VhostUserHeader.Version1 | VhostUserHeader.NeedReplyFlag;

    [Test]
    public void BadVersion_IsAFramingError_AndClosesTheConnection()
    {
        using var h = new BackendHarness();
        h.Raw.Send(new VhostUserHeader((uint)FrontendRequest.GetFeatures, 0x2, 0), ReadOnlySpan<byte>.Empty, default);
        Assert.That(h.ConnectionClosed.Wait(5000), Is.True);
        Assert.That(h.Logs.Has(5), Is.True);
        Assert.That(h.Device.ResetCount, Is.EqualTo(1), "the disconnect resets the device");
    }

    [Test]
    public void Oversized_IsAFramingError_AndClosesTheConnection()
    {
        using var h = new BackendHarness();
        Span<byte> raw = stackalloc byte[VhostUserHeader.Size];
        new VhostUserHeader((uint)FrontendRequest.SetOwner, VhostUserHeader.Version1, 0x10000).Write(raw);
        h.Raw.Socket.Send(raw, default);
        Assert.That(h.ConnectionClosed.Wait(5000), Is.True);
    }

    [TestCase(5, Description = "half a header")]
    [TestCase(12 + 4, Description = "a header and half its payload")]
    public void StalledHalfMessage_IsDroppedWithinTheMessageTimeout(int bytes)
    {
        using var h = new BackendHarness();
        Span<byte> raw = stackalloc byte[VhostUserHeader.Size + 8];
        new VhostUserHeader((uint)FrontendRequest.SetFeatures, VhostUserHeader.Version1, 8).Write(raw);
        h.Raw.Socket.Send(raw[..bytes], default);

        // The peer neither completes the message nor hangs up: a back end that waits for the rest
        // forever keeps every later front end out (and its control thread busy).
        Assert.That(h.ConnectionClosed.Wait(10000), Is.True, "the handler still waits for the rest of the message");
        Assert.That(h.Device.ResetCount, Is.EqualTo(1), "the dropped connection resets the device");
    }

    [Test]
    public void WrongPayloadSize_IsRefused_AndTheConnectionContinues()
    {
        using var h = new BackendHarness();
        Assert.That(h.SendWithAck(FrontendRequest.SetFeatures, new byte[4]), Is.EqualTo(1));
        var reply = h.SendRaw((uint)FrontendRequest.GetVringBase, VhostUserHeader.Version1, new byte[4]);
        Assert.That(reply, Is.Not.Null);
        Assert.That(reply!.Value.Payload, Is.Empty, "error reply for a request that always has one");
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void WrongFdCount_IsRefused_TheFdsAreClosed_AndTheConnectionContinues()
    {
        using var h = new BackendHarness();
        using EventFd fd = EventFd.Create();
        FileDescriptor handle = fd.Handle;
        Span<byte> body = stackalloc byte[8];

        // SET_VRING_CALL with the NOFD bit and an fd anyway.
        new VringIndexWithFd(0x100).Write(body);
        Assert.That(h.SendWithAck(FrontendRequest.SetVringCall, body, new ReadOnlySpan<FileDescriptor>(in handle)), Is.EqualTo(1));

        // SET_OWNER carries no fd.
        Assert.That(h.SendWithAck(FrontendRequest.SetOwner, ReadOnlySpan<byte>.Empty, new ReadOnlySpan<FileDescriptor>(in handle)), Is.EqualTo(1));

        // SET_VRING_KICK without its fd.
        new VringIndexWithFd(0).Write(body);
        Assert.That(h.SendWithAck(FrontendRequest.SetVringKick, body), Is.EqualTo(1));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void BadQueueIndex_IsRefused()
    {
        using var h = new BackendHarness();
        Span<byte> state = stackalloc byte[VringState.Size];
        new VringState(200, 16).Write(state);
        Assert.That(h.SendWithAck(FrontendRequest.SetVringNum, state), Is.EqualTo(1));
        var reply = h.SendRaw((uint)FrontendRequest.GetVringBase, VhostUserHeader.Version1, state);
        Assert.That(reply!.Value.Payload, Is.Empty);
        Assert.That(h.StillServes(), Is.True);
    }

    [TestCase(0u)]
    [TestCase(99u)]
    [TestCase(1000u)]
    public void UnknownRequest_IsRefused_AndTheConnectionContinues(uint request)
    {
        using var h = new BackendHarness();
        Assert.That(h.SendWithAck((FrontendRequest)request, ReadOnlySpan<byte>.Empty), Is.EqualTo(1));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void ReplyFlagOnARequest_IsRefused()
    {
        using var h = new BackendHarness();
        var reply = h.SendRaw((uint)FrontendRequest.SetOwner, NeedReply | VhostUserHeader.ReplyFlag, ReadOnlySpan<byte>.Empty);
        Assert.That(reply, Is.Not.Null);
        Assert.That(BitConverter.ToUInt64(reply!.Value.Payload), Is.EqualTo(1));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void UnsupportedButKnownRequests_AreRefused()
    {
        using var h = new BackendHarness();
        Assert.That(h.SendWithAck(FrontendRequest.SetLogBase, new byte[16]), Is.EqualTo(1));
        Assert.That(h.SendWithAck(FrontendRequest.SetVringEndian, new byte[8]), Is.EqualTo(1));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void InvalidPayload_IsRefused()
    {
        using var h = new BackendHarness();
        Span<byte> body = stackalloc byte[SingleMemoryRegion.Size];
        new SingleMemoryRegion(new MemoryRegion(0x1000, 0, 0x1000, 0)).Write(body);
        using EventFd fd = EventFd.Create();
        FileDescriptor handle = fd.Handle;
        Assert.That(h.SendWithAck(FrontendRequest.AddMemReg, body, new ReadOnlySpan<FileDescriptor>(in handle)), Is.EqualTo(1), "an empty region");
        Assert.That(h.StillServes(), Is.True);
    }
}
