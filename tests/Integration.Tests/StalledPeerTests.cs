// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Threading;
using NUnit.Framework;
using Tmds.Linux;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

/// <summary>
/// Front ends that stop half-way: half a header, half a payload, or replies nobody reads. The back
/// end must still end within a second of SIGTERM, and must not let the stalled peer keep the next
/// front end out for good.
/// </summary>
[TestFixture]
[CancelAfter(60000)]
public sealed unsafe class StalledPeerTests
{
    // GET_FEATURES, version 1, no payload; and SET_FEATURES with its 8-byte payload.
    private const uint GetFeatures = 1;
    private const uint SetFeatures = 2;
    private const uint Version1 = 1;

    private string _dir = null!;

    [SetUp]
    public void CreateDir() => _dir = FrontendHarness.NewTempDir();

    [TearDown]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void HalfAHeader_ThenSilence_SigtermStillEndsTheBackendWithinASecond()
    {
        string socket = Path.Combine(_dir, "rng.sock");
        using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, socket, "--log-level", "warn");
        using UnixSocket peer = UnixSocket.Connect(socket);
        peer.Send(Header(GetFeatures, 0).AsSpan(0, 6), default);

        // Let the back end start reading the message and block on the rest.
        Thread.Sleep(300);
        Assert.That(backend.IsAlive, Is.True, backend.Describe());
        SignalStormTests.AssertSigtermEndsItWithinASecond(backend, socket);
    }

    [Test]
    public void HalfAPayload_ThenSilence_SigtermStillEndsTheBackendWithinASecond()
    {
        string socket = Path.Combine(_dir, "blk.sock");
        using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Blk, socket, "--blk-file", BlkWire.CreateImage(_dir, 1 << 20), "--log-level", "warn");
        using UnixSocket peer = UnixSocket.Connect(socket);
        byte[] message = new byte[12 + 8];
        Header(SetFeatures, 8).CopyTo(message, 0);
        peer.Send(message.AsSpan(0, 15), default);
        Thread.Sleep(300);
        Assert.That(backend.IsAlive, Is.True, backend.Describe());
        SignalStormTests.AssertSigtermEndsItWithinASecond(backend, socket);
    }

    [Test]
    public void RepliesNobodyReads_SigtermStillEndsTheBackendWithinASecond()
    {
        string socket = Path.Combine(_dir, "rng.sock");
        using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, socket, "--log-level", "warn");
        using UnixSocket peer = UnixSocket.Connect(socket);

        // Requests until the back end stops taking them: it answers each one, our receive queue
        // fills with replies nobody reads, and it ends up blocked sending (after which our own
        // send buffer fills and stays full).
        byte[] request = Header(GetFeatures, 0);
        int sent = 0;
        using (FdRef r = new(peer.Handle))
        {
            fixed (byte* p = request)
            {
                Stopwatch clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(20))
                {
                    long n = LibC.send(r.Fd, p, (size_t)(ulong)request.Length, LibC.MSG_DONTWAIT | LibC.MSG_NOSIGNAL);
                    if (n > 0)
                    {
                        sent++;
                        continue;
                    }

                    pollfd pfd = default;
                    pfd.fd = r.Fd;
                    pfd.events = LibC.POLLOUT;
                    if (LibC.poll(&pfd, 1, 500) == 0)
                    {
                        break;
                    }
                }
            }
        }

        TestContext.Out.WriteLine($"{sent} unanswered requests queued");
        Assert.That(sent, Is.GreaterThan(300), "the back end stopped taking requests only when its replies could no longer be sent");
        Assert.That(backend.IsAlive, Is.True, backend.Describe());
        SignalStormTests.AssertSigtermEndsItWithinASecond(backend, socket);
    }

    [Test]
    public void HalfAHeader_DoesNotKeepTheNextFrontendOut()
    {
        string socket = Path.Combine(_dir, "rng.sock");
        using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, socket, "--log-level", "warn");
        using UnixSocket stalled = UnixSocket.Connect(socket);
        stalled.Send(Header(GetFeatures, 0).AsSpan(0, 5), default);

        // The next front end queues behind the stalled one; it must be served once the back end
        // gives up on the half message (the stalled peer never sends the rest, nor hangs up).
        Stopwatch clock = Stopwatch.StartNew();
        using FrontendHarness h = FrontendHarness.Attach(backend);
        ulong gpa = h.Alloc(64);
        ushort head = h.Submit(0, DriverBuffer.DeviceWritable(gpa, 64));
        Assert.That(h.WaitUsed(0).Id, Is.EqualTo(head));
        TestContext.Out.WriteLine($"served after {clock.ElapsedMilliseconds} ms");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    private static byte[] Header(uint request, uint size)
    {
        byte[] h = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(h, request);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), Version1);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), size);
        return h;
    }
}
