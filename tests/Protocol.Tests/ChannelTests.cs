// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>Framing over a socket pair, including every kind of peer garbage.</summary>
[TestFixture]
public class ChannelTests
{
    private UnixSocket _peer = null!;
    private VhostUserChannel _channel = null!;
    private readonly byte[] _payload = new byte[MessageRules.MaxPayloadSize];
    private readonly List<FileDescriptor> _fds = [];

    [SetUp]
    public void SetUp()
    {
        (UnixSocket a, UnixSocket b) = UnixSocket.CreatePair();
        _peer = a;
        _channel = new VhostUserChannel(b);
    }

    [TearDown]
    public void TearDown()
    {
        foreach (FileDescriptor fd in _fds)
        {
            fd.Dispose();
        }

        _fds.Clear();
        _channel.Dispose();
        _peer.Dispose();
    }

    [Test]
    public void RoundTrip_HeaderPayloadAndFds()
    {
        using var sender = new VhostUserChannel(_peer);
        using EventFd kick = EventFd.Create();
        byte[] body = new byte[8];
        VringIndexWithFd.Create(2, hasFd: true).Write(body);
        sender.SendRequest((uint)FrontendRequest.SetVringKick, body, [kick.Handle], needReply: true);

        ReceiveResult result = _channel.TryReceiveFrontendRequest(out VhostUserHeader header, _payload, _fds);
        Assert.That(result, Is.EqualTo(ReceiveResult.Message));
        Assert.That(header, Is.EqualTo(new VhostUserHeader(12, 0x9, 8)));
        Assert.That(VringIndexWithFd.Read(_payload).Index, Is.EqualTo(2u));
        Assert.That(_fds, Has.Count.EqualTo(1));
    }

    [Test]
    public void SendReply_SetsReplyAndVersion()
    {
        using var sender = new VhostUserChannel(_peer);
        sender.SendU64Reply((uint)FrontendRequest.GetFeatures, 0x1_0000_0000);
        Assert.That(_channel.TryReceive(out VhostUserHeader header, _payload, _fds), Is.EqualTo(ReceiveResult.Message));
        Assert.That(header, Is.EqualTo(new VhostUserHeader(1, 0x5, 8)));
        Assert.That(U64Payload.Read(_payload).Value, Is.EqualTo(0x1_0000_0000ul));
    }

    [Test]
    public void PeerClose_IsClosed()
    {
        _peer.Dispose();
        Assert.That(_channel.TryReceive(out _, _payload, _fds).Status, Is.EqualTo(ReceiveStatus.Closed));
    }

    [TestCase(0x0u)]
    [TestCase(0x2u)]
    [TestCase(0x3u)]
    public void BadVersion_IsMalformedAndFdsAreClosed(uint flags)
    {
        using EventFd e = EventFd.Create();
        SendRaw(new VhostUserHeader(3, flags, 0), [], [e.Handle]);
        ReceiveResult result = _channel.TryReceive(out _, _payload, _fds);
        Assert.That(result, Is.EqualTo(ReceiveResult.Malformed(MessageError.BadVersion)));
        Assert.That(result.StreamIntact, Is.False);
        Assert.That(_fds, Is.Empty);
    }

    [Test]
    public void OversizePayload_IsMalformed()
    {
        SendRaw(new VhostUserHeader(5, 1, MessageRules.MaxPayloadSize + 1), [], []);
        Assert.That(_channel.TryReceive(out _, _payload, _fds), Is.EqualTo(ReceiveResult.Malformed(MessageError.PayloadTooLarge)));
    }

    [Test]
    public void PayloadLargerThanTheBuffer_IsMalformed()
    {
        SendRaw(new VhostUserHeader(5, 1, 100), new byte[100], []);
        Assert.That(_channel.TryReceive(out _, new byte[64], _fds), Is.EqualTo(ReceiveResult.Malformed(MessageError.PayloadTooLarge)));
    }

    [Test]
    public void TruncatedPayload_IsShortRead()
    {
        using EventFd e = EventFd.Create();
        SendRaw(new VhostUserHeader(2, 1, 8), new byte[4], [e.Handle]);
        _peer.Dispose();
        Assert.That(_channel.TryReceive(out _, _payload, _fds), Is.EqualTo(ReceiveResult.Malformed(MessageError.ShortRead)));
        Assert.That(_fds, Is.Empty);
    }

    [Test]
    public void TruncatedHeader_IsShortRead()
    {
        _peer.Send(new byte[5], default);
        _peer.Dispose();
        Assert.That(_channel.TryReceive(out _, _payload, _fds), Is.EqualTo(ReceiveResult.Malformed(MessageError.ShortRead)));
    }

    [Test]
    public void NineFds_IsMalformedTooManyFds()
    {
        var nine = new EventFd[9];
        for (int i = 0; i < nine.Length; i++)
        {
            nine[i] = EventFd.Create();
        }

        try
        {
            SysTests.SendRawFds(_peer, nine);
            Assert.That(_channel.TryReceive(out _, _payload, _fds), Is.EqualTo(ReceiveResult.Malformed(MessageError.TooManyFds)));
            Assert.That(_fds, Is.Empty);
        }
        finally
        {
            foreach (EventFd e in nine)
            {
                e.Dispose();
            }
        }
    }

    [Test]
    public void FdsSentWithThePayload_AreCollected()
    {
        using EventFd e = EventFd.Create();
        byte[] header = new byte[VhostUserHeader.Size];
        new VhostUserHeader((uint)FrontendRequest.SetVringCall, 1, 8).Write(header);
        _peer.Send(header, default);
        _peer.Send(new byte[8], [e.Handle]);
        Assert.That(_channel.TryReceiveFrontendRequest(out _, _payload, _fds), Is.EqualTo(ReceiveResult.Message));
        Assert.That(_fds, Has.Count.EqualTo(1));
    }

    [Test]
    public void GateViolation_KeepsTheStreamUsable()
    {
        // SET_VRING_CALL without an fd and without the no-fd bit, then a good GET_FEATURES.
        byte[] body = new byte[8];
        VringIndexWithFd.Create(0, hasFd: true).Write(body);
        SendRaw(VhostUserHeader.ForRequest(FrontendRequest.SetVringCall, 8, needReply: true), body, []);
        SendRaw(VhostUserHeader.ForRequest(FrontendRequest.GetFeatures, 0, needReply: false), [], []);

        ReceiveResult bad = _channel.TryReceiveFrontendRequest(out VhostUserHeader header, _payload, _fds);
        Assert.That(bad, Is.EqualTo(ReceiveResult.Malformed(MessageError.WrongFdCount)));
        Assert.That(bad.StreamIntact, Is.True);
        Assert.That(header.FrontendRequest, Is.EqualTo(FrontendRequest.SetVringCall), "the header is kept for a negative acknowledgement");
        Assert.That(header.NeedsReply, Is.True);

        Assert.That(_channel.TryReceiveFrontendRequest(out header, _payload, _fds), Is.EqualTo(ReceiveResult.Message));
        Assert.That(header.FrontendRequest, Is.EqualTo(FrontendRequest.GetFeatures));
    }

    [Test]
    public void Gate_RejectsFdsOnARequestThatTakesNone()
    {
        using EventFd e = EventFd.Create();
        SendRaw(VhostUserHeader.ForRequest(FrontendRequest.SetOwner, 0, needReply: false), [], [e.Handle]);
        Assert.That(_channel.TryReceiveFrontendRequest(out _, _payload, _fds), Is.EqualTo(ReceiveResult.Malformed(MessageError.WrongFdCount)));
        Assert.That(_fds, Is.Empty);
    }

    [Test]
    public void NonBlockingSocket_WithNothingPending_WouldBlock()
    {
        _channel.Socket.SetNonBlocking();
        Assert.That(_channel.TryReceive(out _, _payload, _fds).Status, Is.EqualTo(ReceiveStatus.WouldBlock));
    }

    [Test]
    public void Send_RejectsSizeMismatch() =>
        Assert.Throws<ArgumentException>(() => _channel.Send(new VhostUserHeader(1, 1, 4), new byte[8], default));

    [Test]
    public void Send_ToAClosedPeer_IsDisconnected()
    {
        _peer.Dispose();
        Assert.Throws<VhostUserDisconnectedException>(() => _channel.SendU64Reply(1, 0));
    }

    private void SendRaw(VhostUserHeader header, byte[] payload, FileDescriptor[] fds)
    {
        byte[] raw = new byte[VhostUserHeader.Size];
        header.Write(raw);
        _peer.Send(raw, payload, fds);
    }
}
