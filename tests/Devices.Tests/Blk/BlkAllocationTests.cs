// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests.Blk;

/// <summary>
/// The blk request path (kick, pop, parse, preadv/pwritev on the I/O threads or inline, or an
/// io_uring submission and its completion, complete, push, notify) allocates nothing once warmed up: a few thousand requests leave the process's
/// allocation counter where it was.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120000)]
public sealed class BlkAllocationTests
{
    private const int Sector = 512;
    private const int Batch = 32;
    private const int DataBytes = 4096;

    [TestCase(4, BlkIoEngine.Threads, Description = "I/O threads")]
    [TestCase(0, BlkIoEngine.Threads, Description = "inline on the queue's thread")]
    [TestCase(1, BlkIoEngine.IoUring, Description = "io_uring")]
    public void RequestPath_DoesNotAllocate(int ioThreads, BlkIoEngine engine)
    {
        using Rig rig = new(imageBytes: 4 << 20, ioThreads: ioThreads, ioEngine: engine);
        Assert.That(rig.Device.UsesUring, Is.EqualTo(engine == BlkIoEngine.IoUring));
        (DriverQueue q, EventFd kick, EventFd call) = rig.StartRing(0, size: 128);

        // Fixed chains written once: request i is header, data, status at descriptors 3i..3i+2;
        // even requests write, odd ones read. The loop below only republishes heads, so the test
        // thread allocates nothing while measuring.
        for (int i = 0; i < Batch; i++)
        {
            bool write = i % 2 == 0;
            DriverBuffer header = rig.Header(write ? BlkRequestType.Out : BlkRequestType.In, (ulong)i * 8);
            ulong data = rig.Memory.Alloc(DataBytes);
            DriverBuffer status = rig.Status();
            ushort d = (ushort)(3 * i);
            q.WriteDescriptor(d, header.Gpa, header.Length, 1 /* NEXT */, (ushort)(d + 1));
            q.WriteDescriptor((ushort)(d + 1), data, DataBytes, (ushort)(write ? 1 : 1 | 2) /* NEXT, WRITE */, (ushort)(d + 2));
            q.WriteDescriptor((ushort)(d + 2), status.Gpa, 1, 2 /* WRITE */, 0);
        }

        // Warm up until the runtime has compiled (and re-compiled) the path.
        RunBatches(q, kick, call, 60);

        // The counter is process-wide: the runtime's own threads (tiered compilation) may allocate a
        // little now and then. An allocation per request shows in every round (at least 24 bytes x
        // 3200); the quietest of three rounds is the path's own figure.
        const int Batches = 100;
        long quietest = long.MaxValue;
        for (int round = 0; round < 3 && quietest >= 2048; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            RunBatches(q, kick, call, Batches);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            TestContext.Out.WriteLine($"{allocated} bytes allocated for {Batches * Batch} requests");
            quietest = Math.Min(quietest, allocated);
        }

        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(quietest, Is.LessThan(2048), "the request path allocates");
    }

    /// <summary>Publishes the <see cref="Batch"/> fixed chains <paramref name="count"/> times, each time waiting until all are used.</summary>
    private static void RunBatches(DriverQueue q, EventFd kick, EventFd call, int count)
    {
        for (int b = 0; b < count; b++)
        {
            ushort target = (ushort)(q.ReadUsedIdx() + Batch);
            for (int i = 0; i < Batch; i++)
            {
                q.StageHead((ushort)(3 * i));
            }

            q.Publish();
            kick.Signal();
            long deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
            while (q.ReadUsedIdx() != target)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    Assert.Fail($"batch {b}: used idx {q.ReadUsedIdx()}, expected {target}");
                }

                Thread.Yield();
            }

            call.TryRead(out _);
        }
    }
}
