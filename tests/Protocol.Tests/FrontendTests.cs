// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>The front end against a scripted back end on a socket pair.</summary>
[TestFixture]
public class FrontendTests
{
    private const ulong OfferedFeatures = (1UL << 32) | ProtocolFeatureBits.VhostUserFProtocolFeatures;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Test]
    public void GetFeatures_RoundTrip()
    {
        using var pair = Pair.Create(Answer);
        Assert.That(pair.Frontend.GetFeatures(), Is.EqualTo(OfferedFeatures));
        ReceivedRequest seen = Next(pair.Backend);
        Assert.That(seen.Request, Is.EqualTo(FrontendRequest.GetFeatures));
        Assert.That(seen.Flags, Is.EqualTo(0x1u), "version 1, no need-reply on a request with a reply body");
        Assert.That(seen.Payload, Is.Empty);
    }

    [Test]
    public void WithoutReplyAck_RequestsAreFireAndForget()
    {
        using var pair = Pair.Create(Answer);
        pair.Frontend.SetOwner();
        pair.Frontend.SetFeatures(OfferedFeatures);
        Assert.That(Next(pair.Backend).Flags, Is.EqualTo(0x1u));
        ReceivedRequest set = Next(pair.Backend);
        Assert.That(set.Request, Is.EqualTo(FrontendRequest.SetFeatures));
        Assert.That(set.Flags, Is.EqualTo(0x1u));
        Assert.That(U64Payload.Read(set.Payload).Value, Is.EqualTo(OfferedFeatures));
    }

    [Test]
    public void ReplyAck_SuccessAndFailure()
    {
        using var pair = Pair.Create((channel, r) =>
        {
            // Refuse ring 7, accept everything else.
            if (r.Request == FrontendRequest.SetVringNum && VringState.Read(r.Payload).Index == 7)
            {
                channel.SendU64Reply((uint)r.Request, 1);
                return true;
            }

            return Answer(channel, r);
        });

        NegotiateReplyAck(pair.Frontend);
        Assert.That(pair.Frontend.NegotiatedProtocolFeatures, Is.EqualTo(ProtocolFeatures.ReplyAck | ProtocolFeatures.Config));

        pair.Frontend.SetVringNum(0, 256);
        ReceivedRequest ok = LastOf(pair.Backend, FrontendRequest.SetVringNum);
        Assert.That(ok.Flags, Is.EqualTo(0x9u), "need-reply is set once REPLY_ACK is negotiated");

        VhostUserException? e = Assert.Throws<VhostUserException>(() => pair.Frontend.SetVringNum(7, 256));
        Assert.That(e, Is.Not.InstanceOf<VhostUserDisconnectedException>());
        Assert.That(e!.Message, Does.Contain("SET_VRING_NUM"));

        // A negative acknowledgement does not end the connection.
        Assert.That(pair.Frontend.IsConnected, Is.True);
        Assert.That(pair.Frontend.GetFeatures(), Is.EqualTo(OfferedFeatures));
    }

    [Test]
    public void SetProtocolFeatures_IsSentWithoutNeedReply()
    {
        using var pair = Pair.Create(Answer);
        NegotiateReplyAck(pair.Frontend);
        ReceivedRequest set = LastOf(pair.Backend, FrontendRequest.SetProtocolFeatures);
        Assert.That(set.Flags, Is.EqualTo(0x1u));
        Assert.That(U64Payload.Read(set.Payload).Value, Is.EqualTo((ulong)(ProtocolFeatures.ReplyAck | ProtocolFeatures.Config)));
    }

    [Test]
    public void GetVringBase_ReturnsTheIndex()
    {
        using var pair = Pair.Create(Answer);
        Assert.That(pair.Frontend.GetVringBase(1), Is.EqualTo(0x1234u));
    }

    [Test]
    public void SetVringKick_SendsTheFdOrTheNoFdBit()
    {
        using var pair = Pair.Create(Answer);
        using EventFd kick = EventFd.Create();
        pair.Frontend.SetVringKick(3, kick.Handle);
        pair.Frontend.SetVringCall(3, null);

        ReceivedRequest withFd = Next(pair.Backend);
        Assert.That(withFd.Request, Is.EqualTo(FrontendRequest.SetVringKick));
        Assert.That(U64Payload.Read(withFd.Payload).Value, Is.EqualTo(3ul));
        Assert.That(withFd.Fds, Has.Count.EqualTo(1));

        // The back end's copy is the same eventfd.
        using (EventFd remote = EventFd.Adopt(withFd.Fds[0]))
        {
            remote.Signal();
        }

        withFd.Fds.Clear();
        Assert.That(kick.TryRead(out ulong n) && n == 1, Is.True);

        ReceivedRequest noFd = Next(pair.Backend);
        Assert.That(U64Payload.Read(noFd.Payload).Value, Is.EqualTo(0x103ul));
        Assert.That(noFd.Fds, Is.Empty);
        Assert.That(pair.Backend.Rejected, Is.Empty);
    }

    [Test]
    public void SetMemTable_SendsOneFdPerRegion()
    {
        using var pair = Pair.Create(Answer);
        using FileDescriptor a = MemFd.Create("a", 0x10000);
        using FileDescriptor b = MemFd.Create("b", 0x10000);
        var regions = new List<(MemoryRegion, FileDescriptor)>
        {
            (new MemoryRegion(0x0, 0x10000, 0x7f00_0000_0000, 0), a),
            (new MemoryRegion(0x10000, 0x10000, 0x7f00_0001_0000, 0), b),
        };
        pair.Frontend.SetMemTable(regions);
        ReceivedRequest seen = Next(pair.Backend);
        Assert.That(seen.Request, Is.EqualTo(FrontendRequest.SetMemTable));
        Assert.That(seen.Payload, Has.Length.EqualTo(8 + (2 * 32)));
        Assert.That(seen.Fds, Has.Count.EqualTo(2));
        MemoryTable table = MemoryTable.Read(seen.Payload);
        Assert.That(table[1], Is.EqualTo(regions[1].Item1));
    }

    [Test]
    public void GetConfig_ReturnsTheBytes_AndAnEmptyReplyIsARefusal()
    {
        using var pair = Pair.Create(Answer);
        Assert.That(pair.Frontend.GetConfig(4, 4), Is.EqualTo(new byte[] { 4, 5, 6, 7 }));
        ReceivedRequest seen = Next(pair.Backend);
        Assert.That(ConfigSpace.Read(seen.Payload), Is.EqualTo(new ConfigSpace(4, 4, 0)));
        Assert.That(seen.Payload, Has.Length.EqualTo(16));

        // Offset 200 makes the fake answer with an empty payload, the spec's error signal.
        Assert.Throws<VhostUserException>(() => pair.Frontend.GetConfig(200, 8));
        Assert.That(pair.Frontend.IsConnected, Is.True);

        pair.Frontend.SetConfig(0, [1, 2]);
        ReceivedRequest set = LastOf(pair.Backend, FrontendRequest.SetConfig);
        Assert.That(Convert.ToHexString(set.Payload), Is.EqualTo("00000000" + "02000000" + "00000000" + "0102"));
    }

    [Test]
    public void GetInflightFd_ReturnsTheFdAndArea()
    {
        using var pair = Pair.Create(Answer);
        InflightBuffer inflight = pair.Frontend.GetInflightFd(1, 128);
        using (inflight.Fd)
        {
            Assert.That(inflight.MmapSize, Is.EqualTo(4096ul));
            Assert.That(inflight.MmapOffset, Is.EqualTo(0ul));
            Assert.That(inflight.Fd.IsInvalid, Is.False);
            using MappedMemory map = MappedMemory.Map(inflight.Fd, 0, 4096, writable: true);
            Assert.That(map.GetSpan(0, 4).ToArray(), Is.EqualTo(new byte[] { 0xab, 0, 0, 0 }));
        }
    }

    [Test]
    public void GetStatusAndQueueNum()
    {
        using var pair = Pair.Create(Answer);
        Assert.That(pair.Frontend.GetStatus(), Is.EqualTo(0x0f));
        Assert.That(pair.Frontend.GetQueueNum(), Is.EqualTo(2ul));
        pair.Frontend.SetStatus(0x07);
        Assert.That(U64Payload.Read(LastOf(pair.Backend, FrontendRequest.SetStatus).Payload).Value, Is.EqualTo(7ul));
    }

    [Test]
    public void ConfigChangeMsg_RaisesTheEventAndIsAcknowledged()
    {
        using var pair = Pair.Create(Answer);
        NegotiateReplyAck(pair.Frontend);
        using var changed = new ManualResetEventSlim();
        pair.Frontend.ConfigChanged += (_, _) => changed.Set();
        pair.Frontend.SetBackendReqFd();

        ReceivedRequest set = LastOf(pair.Backend, FrontendRequest.SetBackendReqFd);
        Assert.That(set.Fds, Has.Count.EqualTo(1));
        using var backendChannel = new VhostUserChannel(UnixSocketFrom(set));

        // CONFIG_CHANGE_MSG with NEED_REPLY: the front end acknowledges with 0 and raises the event.
        backendChannel.SendRequest((uint)BackendRequest.ConfigChangeMsg, [], default, needReply: true);
        Assert.That(changed.Wait(Wait), Is.True);
        var fds = new List<FileDescriptor>();
        byte[] buffer = new byte[64];
        Assert.That(backendChannel.Socket.WaitReadable(5000), Is.True);
        Assert.That(backendChannel.TryReceive(out VhostUserHeader ack, buffer, fds), Is.EqualTo(ReceiveResult.Message));
        Assert.That(ack, Is.EqualTo(new VhostUserHeader((uint)BackendRequest.ConfigChangeMsg, 0x5, 8)));
        Assert.That(U64Payload.Read(buffer).Value, Is.EqualTo(0ul));

        // An unsupported request is refused with a non-zero acknowledgement.
        backendChannel.SendRequest((uint)BackendRequest.SharedObjectAdd, new byte[16], default, needReply: true);
        Assert.That(backendChannel.Socket.WaitReadable(5000), Is.True);
        Assert.That(backendChannel.TryReceive(out ack, buffer, fds), Is.EqualTo(ReceiveResult.Message));
        Assert.That(ack.Request, Is.EqualTo((uint)BackendRequest.SharedObjectAdd));
        Assert.That(U64Payload.Read(buffer).Value, Is.Not.EqualTo(0ul));
    }

    [Test]
    public void BackendHangUp_ThrowsDisconnected()
    {
        using var pair = Pair.Create((channel, r) => r.Request != FrontendRequest.GetQueueNum && Answer(channel, r));
        Assert.That(pair.Frontend.IsConnected, Is.True);
        Assert.Throws<VhostUserDisconnectedException>(() => pair.Frontend.GetQueueNum());
        Assert.That(pair.Frontend.IsConnected, Is.False);
        Assert.Throws<VhostUserDisconnectedException>(() => pair.Frontend.GetFeatures(), "later calls fail fast");
    }

    [Test]
    public void WrongReply_EndsTheConnection()
    {
        using var pair = Pair.Create((channel, r) =>
        {
            // Answer GET_FEATURES as if it were GET_PROTOCOL_FEATURES.
            channel.SendU64Reply((uint)FrontendRequest.GetProtocolFeatures, 0);
            return true;
        });
        VhostUserDisconnectedException? e = Assert.Throws<VhostUserDisconnectedException>(() => pair.Frontend.GetFeatures());
        Assert.That(e!.Message, Does.Contain("GET_FEATURES"));
        Assert.That(pair.Frontend.IsConnected, Is.False);
    }

    [Test]
    public void SilentBackend_TimesOut()
    {
        using var pair = Pair.Create((_, _) => true);
        pair.Frontend.ReplyTimeout = TimeSpan.FromMilliseconds(100);
        VhostUserDisconnectedException? e = Assert.Throws<VhostUserDisconnectedException>(() => pair.Frontend.GetFeatures());
        Assert.That(e!.Message, Does.Contain("No reply"));
    }

    [Test]
    public void ConcurrentCallers_AreSerialized()
    {
        using var pair = Pair.Create(Answer);
        NegotiateReplyAck(pair.Frontend);
        Parallel.For(0, 8, i =>
        {
            for (int j = 0; j < 25; j++)
            {
                Assert.That(pair.Frontend.GetVringBase((uint)i), Is.EqualTo(0x1234u));
                pair.Frontend.SetVringEnable((uint)i, true);
            }
        });
        Assert.That(pair.Frontend.IsConnected, Is.True);
    }

    [Test]
    public void Connect_RetriesUntilTheSocketAppears()
    {
        string path = TestPaths.NewSocketPath();
        FakeBackend? backend = null;
        var server = new Thread(() =>
        {
            Thread.Sleep(200);
            using UnixSocket listener = UnixSocket.Listen(path);
            backend = new FakeBackend(listener.Accept(), Answer);
        });
        server.Start();
        try
        {
            using VhostUserFrontend frontend = VhostUserFrontend.Connect(path, Wait);
            Assert.That(server.Join(Wait), Is.True);
            Assert.That(frontend.GetFeatures(), Is.EqualTo(OfferedFeatures));
        }
        finally
        {
            server.Join(Wait);
            backend?.Dispose();
        }
    }

    [Test]
    public void Connect_TimesOutWithoutABackend()
    {
        string path = TestPaths.NewSocketPath();
        Assert.Throws<TimeoutException>(() => VhostUserFrontend.Connect(path, TimeSpan.FromMilliseconds(150)));
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void Describe_UsesSpecNames() =>
        Assert.That(VhostUserFrontend.Describe(FrontendRequest.GetMaxMemSlots), Is.EqualTo("GET_MAX_MEM_SLOTS"));

    /// <summary>The fake's answers: fixed values for every request the tests use.</summary>
    private static bool Answer(VhostUserChannel channel, ReceivedRequest r)
    {
        switch (r.Request)
        {
            case FrontendRequest.GetFeatures:
                channel.SendU64Reply((uint)r.Request, OfferedFeatures);
                return true;
            case FrontendRequest.GetProtocolFeatures:
                channel.SendU64Reply((uint)r.Request, (ulong)(ProtocolFeatures.ReplyAck | ProtocolFeatures.Config | ProtocolFeatures.Mq));
                return true;
            case FrontendRequest.GetQueueNum:
                channel.SendU64Reply((uint)r.Request, 2);
                return true;
            case FrontendRequest.GetStatus:
                channel.SendU64Reply((uint)r.Request, 0x0f);
                return true;
            case FrontendRequest.GetVringBase:
                byte[] state = new byte[VringState.Size];
                new VringState(VringState.Read(r.Payload).Index, 0x1234).Write(state);
                channel.SendReply(r.Request, state);
                return true;
            case FrontendRequest.GetConfig:
                ConfigSpace request = ConfigSpace.Read(r.Payload);
                if (request.Offset >= 200)
                {
                    channel.SendReply(r.Request, []);
                    return true;
                }

                byte[] data = new byte[request.Size];
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = (byte)(request.Offset + i);
                }

                byte[] reply = new byte[request.EncodedSize];
                request.Write(reply, data);
                channel.SendReply(r.Request, reply);
                return true;
            case FrontendRequest.GetInflightFd:
                using (FileDescriptor area = MemFd.Create("inflight", 4096))
                {
                    using (MappedMemory map = MappedMemory.Map(area, 0, 4096, writable: true))
                    {
                        map.GetSpan(0, 1)[0] = 0xab;
                    }

                    byte[] body = new byte[InflightDescription.Size];
                    new InflightDescription(4096, 0, 1, 128).Write(body);
                    channel.SendReply((uint)r.Request, body, [area]);
                }

                return true;
            default:
                return FakeBackend.Acknowledge(channel, r);
        }
    }

    private static void NegotiateReplyAck(VhostUserFrontend frontend)
    {
        Assert.That(frontend.GetFeatures() & ProtocolFeatureBits.VhostUserFProtocolFeatures, Is.Not.Zero);
        ProtocolFeatures offered = frontend.GetProtocolFeatures();
        frontend.SetProtocolFeatures(offered & (ProtocolFeatures.ReplyAck | ProtocolFeatures.Config));
    }

    private static ReceivedRequest Next(FakeBackend backend)
    {
        Assert.That(backend.Received.TryTake(out ReceivedRequest? r, Wait), Is.True, "the back end received a request");
        return r!;
    }

    private static ReceivedRequest LastOf(FakeBackend backend, FrontendRequest request)
    {
        while (true)
        {
            ReceivedRequest r = Next(backend);
            if (r.Request == request)
            {
                return r;
            }
        }
    }

    private static UnixSocket UnixSocketFrom(ReceivedRequest r)
    {
        // The back end's end of the back-end channel, as SET_BACKEND_REQ_FD delivered it.
        FileDescriptor fd = r.Fds[0];
        r.Fds.Clear();
        return UnixSocket.Adopt(fd);
    }

    private sealed class Pair : IDisposable
    {
        private Pair(VhostUserFrontend frontend, FakeBackend backend)
        {
            Frontend = frontend;
            Backend = backend;
        }

        public VhostUserFrontend Frontend { get; }

        public FakeBackend Backend { get; }

        public static Pair Create(Func<VhostUserChannel, ReceivedRequest, bool> handler)
        {
            (UnixSocket front, UnixSocket back) = UnixSocket.CreatePair();
            return new Pair(new VhostUserFrontend(front), new FakeBackend(back, handler));
        }

        public void Dispose()
        {
            Frontend.Dispose();
            Backend.Dispose();
        }
    }
}
