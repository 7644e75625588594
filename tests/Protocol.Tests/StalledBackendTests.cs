// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>
/// A back end that answers half a reply and stalls: the front end (the adapter, in production)
/// must give up within its reply timeout instead of waiting for the rest forever.
/// </summary>
[TestFixture]
[CancelAfter(30000)]
public sealed class StalledBackendTests
{
    [TestCase(5, Description = "half a header")]
    [TestCase(12 + 3, Description = "a header and 3 of its 8 payload bytes")]
    public void HalfAReply_FrontendGivesUpWithinItsTimeout(int bytes)
    {
        (UnixSocket front, UnixSocket back) = UnixSocket.CreatePair();
        using (back)
        {
            using VhostUserFrontend frontend = new(front) { ReplyTimeout = TimeSpan.FromMilliseconds(500) };
            Exception? failure = null;
            Stopwatch clock = new();
            Thread caller = new(() =>
            {
                clock.Start();
                try
                {
                    frontend.GetFeatures();
                }
                catch (Exception e)
                {
                    failure = e;
                }

                clock.Stop();
            })
            { IsBackground = true };
            caller.Start();

            // Read the request, then answer with the first bytes of a proper reply only.
            byte[] request = new byte[VhostUserHeader.Size];
            Assert.That(back.ReceiveExact(request), Is.EqualTo(request.Length));
            byte[] reply = new byte[VhostUserHeader.Size + 8];
            BinaryPrimitives.WriteUInt32LittleEndian(reply, (uint)FrontendRequest.GetFeatures);
            BinaryPrimitives.WriteUInt32LittleEndian(reply.AsSpan(4), VhostUserHeader.Version1 | VhostUserHeader.ReplyFlag);
            BinaryPrimitives.WriteUInt32LittleEndian(reply.AsSpan(8), 8);
            back.Send(reply.AsSpan(0, bytes), default);

            Assert.That(caller.Join(TimeSpan.FromSeconds(10)), Is.True, "GET_FEATURES still waits for the rest of a reply that never comes");
            Assert.That(failure, Is.InstanceOf<VhostUserDisconnectedException>(), () => $"{failure}");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "the reply timeout covers the whole reply");
            Assert.That(frontend.IsConnected, Is.False);
        }
    }
}
