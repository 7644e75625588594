// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests.Blk;

/// <summary>
/// <see cref="BlkDevice"/> behind the real <see cref="BackendHandler"/> over a socketpair, driven by
/// <see cref="VhostUserFrontend"/> and <see cref="DriverQueue"/>: the asynchronous engine, its I/O
/// threads, completion eventfd, slot exhaustion, multiqueue and stop-with-requests-in-flight.
/// </summary>
[TestFixture]
public sealed class BlkBackendTests
{
    private const int Sector = 512;

    [TestCase(4, BlkIoEngine.Threads, Description = "I/O threads")]
    [TestCase(0, BlkIoEngine.Threads, Description = "inline on the worker, as for an image on tmpfs")]
    [TestCase(1, BlkIoEngine.IoUring, Description = "io_uring")]
    public void ManyRequestsInFlight_WritesThenReads_ChecksumsMatch(int ioThreads, BlkIoEngine engine)
    {
        using Rig rig = new(imageBytes: 16 << 20, ioThreads: ioThreads, ioEngine: engine);
        Assert.That(rig.Device.UsesUring, Is.EqualTo(engine == BlkIoEngine.IoUring));
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 256);

        // 200 indirect chains on a 256 ring: more than the engine's 128 slots, so it must stall and resume.
        const int count = 200;
        byte[][] data = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            data[i] = BlkHarness.RandomBytes(4096, seed: 100 + i);
            q.StageIndirectChain(rig.Header(BlkRequestType.Out, (ulong)i * 8), rig.Readable(data[i]), rig.Status());
        }

        q.Publish();
        kick.Signal();
        Dictionary<ushort, uint> used = Rig.WaitUsed(q, count);
        Assert.That(used.Values, Is.All.EqualTo(1u));
        Assert.That(rig.AllStatusesOk(), Is.True);

        DriverBuffer[] reads = new DriverBuffer[count];
        rig.ClearStatuses();
        for (int i = 0; i < count; i++)
        {
            reads[i] = rig.Writable(4096);
            q.StageIndirectChain(rig.Header(BlkRequestType.In, (ulong)i * 8), reads[i], rig.Status());
        }

        q.Publish();
        kick.Signal();
        used = Rig.WaitUsed(q, count);
        Assert.That(used.Values, Is.All.EqualTo(4097u));
        Assert.That(rig.AllStatusesOk(), Is.True);
        for (int i = 0; i < count; i++)
        {
            Assert.That(SHA256.HashData(rig.Memory.ReadBytes(reads[i].Gpa, 4096)), Is.EqualTo(SHA256.HashData(data[i])), $"request {i}");
        }
    }

    [Test]
    public void SegMaxRequestOnASmallerRing_WritesThenReads_ChecksumsMatch()
    {
        // seg_max comes from the device's largest queue (256: 254 segments) before the driver picks
        // a ring; on a ring of 128 a request with every segment it was promised is an indirect table
        // of 256 entries (QEMU's vhost-user-blk-pci and the loopback's adapter offer 128 by default).
        using Rig rig = new(imageBytes: 4 << 20);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 128);
        const int segments = 254;
        byte[] data = BlkHarness.RandomBytes(segments * 4096, seed: 7);
        DriverBuffer[] chain = new DriverBuffer[segments + 2];
        chain[0] = rig.Header(BlkRequestType.Out, 16);
        for (int i = 0; i < segments; i++)
        {
            chain[i + 1] = rig.Readable(data.AsSpan(i * 4096, 4096).ToArray());
        }

        chain[^1] = rig.Status();
        q.StageIndirectChain(chain);
        q.Publish();
        kick.Signal();
        Assert.That(Rig.WaitUsed(q, 1).Values, Is.All.EqualTo(1u));
        Assert.That(rig.AllStatusesOk(), Is.True);

        rig.ClearStatuses();
        chain[0] = rig.Header(BlkRequestType.In, 16);
        for (int i = 0; i < segments; i++)
        {
            chain[i + 1] = rig.Writable(4096);
        }

        chain[^1] = rig.Status();
        q.StageIndirectChain(chain);
        q.Publish();
        kick.Signal();
        Assert.That(Rig.WaitUsed(q, 1).Values, Is.All.EqualTo((uint)(segments * 4096) + 1));
        Assert.That(rig.AllStatusesOk(), Is.True);
        using IncrementalHash read = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < segments; i++)
        {
            read.AppendData(rig.Memory.ReadBytes(chain[i + 1].Gpa, 4096));
        }

        Assert.That(read.GetHashAndReset(), Is.EqualTo(SHA256.HashData(data)));
    }

    [TestCase(BlkIoEngine.Threads)]
    [TestCase(BlkIoEngine.IoUring)]
    public void Multiqueue_TwoQueuesInParallel(BlkIoEngine engine)
    {
        using Rig rig = new(imageBytes: 16 << 20, numQueues: 2, ioEngine: engine);
        (DriverQueue q0, EventFd k0, _) = rig.StartRing(0, size: 64);
        (DriverQueue q1, EventFd k1, _) = rig.StartRing(1, size: 64);
        byte[] a = BlkHarness.RandomBytes(16 * 1024, seed: 1);
        byte[] b = BlkHarness.RandomBytes(16 * 1024, seed: 2);
        for (int i = 0; i < 16; i++)
        {
            q0.AddChain(rig.Header(BlkRequestType.Out, (ulong)i * 32), rig.Readable(a), rig.Status());
            q1.AddChain(rig.Header(BlkRequestType.Out, 4096 + ((ulong)i * 32)), rig.Readable(b), rig.Status());
        }

        k0.Signal();
        k1.Signal();
        Rig.WaitUsed(q0, 16);
        Rig.WaitUsed(q1, 16);
        Assert.That(rig.AllStatusesOk(), Is.True);

        byte[] file = rig.FileBytes();
        for (int i = 0; i < 16; i++)
        {
            Assert.That(file.AsSpan(i * 32 * Sector, a.Length).SequenceEqual(a), Is.True);
            Assert.That(file.AsSpan((4096 + (i * 32)) * Sector, b.Length).SequenceEqual(b), Is.True);
        }
    }

    [TestCase(BlkIoEngine.Threads)]
    [TestCase(BlkIoEngine.IoUring)]
    public void GetVringBase_WaitsForInFlight_EveryPoppedRequestIsUsed(BlkIoEngine engine)
    {
        using Rig rig = new(imageBytes: 64 << 20, ioEngine: engine);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 128);
        byte[] big = BlkHarness.RandomBytes(256 * 1024, seed: 3);
        for (int i = 0; i < 100; i++)
        {
            q.StageIndirectChain(rig.Header(BlkRequestType.Out, (ulong)i * 512), rig.Readable(big), rig.Status());
        }

        q.Publish();
        kick.Signal();
        Assert.That(Wait.Until(() => q.ReadUsedIdx() > 0), Is.True, "the ring runs");

        // Stopping the ring must first finish everything it popped: the used idx equals the base.
        uint vringBase = rig.Frontend.GetVringBase(0);
        ushort usedIdx = q.ReadUsedIdx();
        Assert.That(usedIdx, Is.EqualTo((ushort)vringBase));
        Assert.That(vringBase, Is.GreaterThan(0u));
    }

    [Test]
    public void GetId_Flush_Unsupported_ThroughTheRing()
    {
        using Rig rig = new(serial: "vl-serial-1");
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 16);
        DriverBuffer id = rig.Writable(20);
        DriverBuffer s1 = rig.Status();
        ushort h1 = q.AddChain(rig.Header(BlkRequestType.GetId, 0), id, s1);
        DriverBuffer s2 = rig.Status();
        ushort h2 = q.AddChain(rig.Header(BlkRequestType.Flush, 0), s2);
        DriverBuffer s3 = rig.Status();
        ushort h3 = q.AddChain(rig.Header(77u, 0), s3);
        kick.Signal();
        Dictionary<ushort, uint> used = Rig.WaitUsed(q, 3);
        Assert.That(used[h1], Is.EqualTo(21u));
        Assert.That(used[h2], Is.EqualTo(1u));
        Assert.That(used[h3], Is.EqualTo(1u));
        Assert.That(rig.Memory.ReadBytes(id.Gpa, 11), Is.EqualTo("vl-serial-1"u8.ToArray()));
        Assert.That(rig.Memory.ReadBytes(s1.Gpa, 1)[0], Is.EqualTo((byte)BlkStatus.Ok));
        Assert.That(rig.Memory.ReadBytes(s2.Gpa, 1)[0], Is.EqualTo((byte)BlkStatus.Ok));
        Assert.That(rig.Memory.ReadBytes(s3.Gpa, 1)[0], Is.EqualTo((byte)BlkStatus.Unsupp));
    }

    [Test]
    public void ChainWithoutStatusByte_BreaksTheRing_ButStopStillWorks()
    {
        using Rig rig = new();
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 16);
        q.AddChain(rig.Header(BlkRequestType.Flush, 0));
        kick.Signal();

        // A request without a status byte cannot be completed; dropping it silently would leave the
        // driver waiting forever, so the ring must break (and say why).
        Assert.That(Wait.Until(() => rig.Handler.Vrings[0].IsBroken), Is.True, "the ring did not break");
        Assert.That(rig.Handler.Vrings[0].BrokenReason, Does.Contain("status byte"));
        Assert.That(rig.Logs.Contains("broken"), Is.True);
        Assert.That(q.ReadUsedIdx(), Is.Zero, "nothing was completed");
        Assert.That(() => rig.Frontend.GetVringBase(0), Throws.Nothing);
    }

    [Test]
    public void Config_ThroughTheProtocol_WritebackToggle()
    {
        using Rig rig = new();
        byte[] config = rig.Frontend.GetConfig(0, 72);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(config), Is.EqualTo((ulong)(1 << 20) / Sector));
        Assert.That(config[32], Is.EqualTo(1));
        rig.Frontend.SetConfig(32, new byte[] { 0 });
        Assert.That(rig.Frontend.GetConfig(32, 1)[0], Is.Zero);
        Assert.That(rig.Device.IsWriteback, Is.False);
        rig.Frontend.SetConfig(32, new byte[] { 1 });
        Assert.That(rig.Device.IsWriteback, Is.True);
    }
}
