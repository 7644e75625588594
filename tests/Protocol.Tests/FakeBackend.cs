// SPDX-License-Identifier: MIT
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>What the fake back end saw: one received request.</summary>
internal sealed record ReceivedRequest(FrontendRequest Request, uint Flags, byte[] Payload, List<FileDescriptor> Fds);

/// <summary>
/// A minimal scripted back end on its own thread: it validates each request through the real gate,
/// records it, and lets the test answer it.
/// </summary>
internal sealed class FakeBackend : IDisposable
{
    private readonly VhostUserChannel _channel;
    private readonly Func<VhostUserChannel, ReceivedRequest, bool> _handler;
    private readonly Thread _thread;

    /// <param name="socket">The back end's end of the connection.</param>
    /// <param name="handler">Answers a request; returns false to hang up.</param>
    internal FakeBackend(UnixSocket socket, Func<VhostUserChannel, ReceivedRequest, bool> handler)
    {
        _channel = new VhostUserChannel(socket);
        _handler = handler;
        _thread = new Thread(Run) { IsBackground = true, Name = "fake backend" };
        _thread.Start();
    }

    internal BlockingCollection<ReceivedRequest> Received { get; } = [];

    internal List<MessageError> Rejected { get; } = [];

    public void Dispose()
    {
        _channel.Socket.Shutdown();
        _thread.Join(5000);
        _channel.Dispose();
        foreach (ReceivedRequest r in Received)
        {
            foreach (FileDescriptor fd in r.Fds)
            {
                fd.Dispose();
            }
        }
    }

    /// <summary>Answers the usual requests like a well-behaved back end (no REPLY_ACK failures).</summary>
    internal static bool Acknowledge(VhostUserChannel channel, ReceivedRequest r)
    {
        if (MessageRules.TryGet(r.Request, out MessageRule rule) && !rule.HasReply && (r.Flags & VhostUserHeader.NeedReplyFlag) != 0)
        {
            channel.SendU64Reply((uint)r.Request, 0);
        }

        return true;
    }

    private void Run()
    {
        byte[] payload = new byte[MessageRules.MaxPayloadSize];
        while (true)
        {
            var fds = new List<FileDescriptor>();
            ReceiveResult result = _channel.TryReceiveFrontendRequest(out VhostUserHeader header, payload, fds);
            if (result.Status == ReceiveStatus.Closed)
            {
                return;
            }

            if (result.Status == ReceiveStatus.Malformed)
            {
                lock (Rejected)
                {
                    Rejected.Add(result.Error);
                }

                if (!result.StreamIntact)
                {
                    return;
                }

                if (header.NeedsReply)
                {
                    _channel.SendU64Reply(header.Request, 1);
                }

                continue;
            }

            var request = new ReceivedRequest(header.FrontendRequest, header.Flags, payload.AsSpan(0, (int)header.PayloadSize).ToArray(), fds);
            Received.Add(request);
            try
            {
                if (!_handler(_channel, request))
                {
                    _channel.Socket.Shutdown();
                    return;
                }
            }
            catch (VhostUserDisconnectedException)
            {
                return;
            }
        }
    }
}
