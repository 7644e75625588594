// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;

namespace VirtioLoopback.Tests;

/// <summary>
/// A vhost-user-blk process killed with requests in flight, restarted on the same socket, and
/// resumed from the inflight area the way QEMU does it: nothing lost, nothing completed twice.
/// </summary>
[TestFixture]
public sealed class BlkCrashTests
{
    // QEMU's inflight layout (vhost-user.rst, "Inflight I/O tracking"): per queue a 16-byte header,
    // then one 16-byte state per descriptor whose first byte is the inflight flag.
    private const int InflightHeader = 16;
    private const int InflightDescState = 16;

    [Test]
    public void KilledWithRequestsInFlightResumesFromInflightArea()
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            Run(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Run(string dir)
    {
        const long ImageBytes = 64 << 20;
        const int Length = 256 * 1024;
        const int BatchSize = 24;
        string image = BlkWire.CreateImage(dir, ImageBytes);
        string socket = Path.Combine(dir, "blk.sock");
        // The threaded engine: each written-through request holds one of four I/O threads for its
        // pwrite and fdatasync, so a batch stays in flight long enough to be caught. io_uring runs
        // the batch's fdatasyncs at once (one journal commit) and often finishes it between two
        // looks; the inflight area is kept by the queue engine alike for both.
        string[] args = ["--blk-file", image, "--io-engine", "threads", "--log-level", "info"];
        HarnessOptions options = new()
        {
            UseInflight = true,
            MemorySize = 128 << 20,

            // Without FLUSH every write is written through (fdatasync): requests stay in flight longer.
            SelectFeatures = offered => offered & ~BlkWire.FeatureFlush,
        };

        ProcessBackend first = ProcessBackend.Start(BackendPrograms.Blk, socket, args);
        using FrontendHarness h = FrontendHarness.Attach(first, options);
        using ProcessBackendOwner owner = new(first);
        BlkDriver blk = new(h, seed: 99);
        Assert.That(h.Inflight, Is.Not.Null);
        InflightBuffer inflight = h.Inflight!.Value;
        using MappedMemory area = MappedMemory.Map(inflight.Fd, (long)inflight.MmapOffset, inflight.MmapSize, writable: false);
        Assert.That(area.Length, Is.GreaterThanOrEqualTo((ulong)(InflightHeader + (InflightDescState * h.Options.QueueSize))));

        byte[] expectedImage = new byte[ImageBytes];
        Dictionary<ushort, BlkRequest> outstanding = new();
        List<BlkRequest> completed = new();
        int submitted = 0;
        int sectorCursor = 0;

        // Submit batches until the back end is caught with requests popped but not completed; then freeze it.
        int inflightAtStop = 0;
        for (int attempt = 0; attempt < 6 && inflightAtStop == 0; attempt++)
        {
            for (int i = 0; i < BatchSize; i++)
            {
                byte[] data = blk.RandomBytes(Length);
                ulong sector = (ulong)sectorCursor;
                sectorCursor += (Length / BlkWire.SectorSize) + 8;
                data.CopyTo(expectedImage, (long)sector * BlkWire.SectorSize);
                BlkRequest r = blk.Stage(0, BlkWire.Out, sector, data, pieces: 1 + (i % 3), indirect: i % 2 == 1);
                outstanding.Add(r.Head, r);
                submitted++;
            }

            blk.Publish(0);
            Stopwatch clock = Stopwatch.StartNew();
            // Best: some of the batch completed and some popped but not completed.
            int batchStart = submitted - BatchSize;
            while (clock.Elapsed < TimeSpan.FromSeconds(5)
                && Drain(h, blk, outstanding, completed) < submitted
                && (CountInflight(area, h.Options.QueueSize) == 0 || completed.Count - batchStart < BatchSize / 4))
            {
                Thread.SpinWait(100);
            }

            first.Signal(Native.SIGSTOP);
            Thread.Sleep(20);
            inflightAtStop = CountInflight(area, h.Options.QueueSize);
            if (inflightAtStop == 0)
            {
                // Missed it: let this batch finish, then try again with the next one.
                first.Signal(Native.SIGCONT);
                while (outstanding.Count > 0)
                {
                    Collect(blk, outstanding, completed, h.WaitUsed(0));
                }
            }
        }

        Drain(h, blk, outstanding, completed);
        TestContext.Out.WriteLine($"submitted {submitted}, completed before SIGSTOP {completed.Count}, flagged in flight at SIGSTOP {inflightAtStop}");

        // Without requests popped but not completed at the kill, nothing below tests resubmission.
        Assert.That(inflightAtStop, Is.GreaterThan(0), "no request was in flight when the back end was stopped and killed");

        // More requests while it is frozen: never seen by the dying back end.
        for (int i = 0; i < 8; i++)
        {
            byte[] data = blk.RandomBytes(4096);
            ulong sector = (ulong)sectorCursor;
            sectorCursor += 16;
            data.CopyTo(expectedImage, (long)sector * BlkWire.SectorSize);
            BlkRequest r = blk.Stage(0, BlkWire.Out, sector, data, indirect: true);
            outstanding.Add(r.Head, r);
            submitted++;
        }

        blk.Publish(0);
        first.KillHard();
        Drain(h, blk, outstanding, completed);
        int beforeRestart = completed.Count;

        // A new back end on the same socket; QEMU's reconnect: same inflight fd, base = used idx.
        ProcessBackend second = ProcessBackend.Start(BackendPrograms.Blk, socket, args);
        owner.Add(second);
        h.ReplaceBackend(second);
        h.Connect(resume: true);

        while (outstanding.Count > 0)
        {
            Collect(blk, outstanding, completed, h.WaitUsed(0));
        }

        h.AssertNothingMoreUsed(0);
        TestContext.Out.WriteLine($"completed by the first back end {beforeRestart}, by the second {completed.Count - beforeRestart}");
        Assert.That(completed, Has.Count.EqualTo(submitted), "every request completed exactly once");
        Assert.That(completed.Distinct().Count(), Is.EqualTo(completed.Count), "no request completed twice");
        Assert.That(BlkWire.Sha256File(image), Is.EqualTo(BlkWire.Sha256(expectedImage)), "the image holds every write exactly");
        Assert.That(CountInflight(area, h.Options.QueueSize), Is.Zero, "nothing is left flagged in flight");

        // The ring goes on working after recovery.
        byte[] tail = blk.RandomBytes(4096);
        blk.Write(0, 1000, tail, pieces: 2);
        Assert.That(blk.Read(0, 1000, tail.Length), Is.EqualTo(tail));
    }

    private static void Collect(BlkDriver blk, Dictionary<ushort, BlkRequest> outstanding, List<BlkRequest> completed, (ushort Id, uint Written) used)
    {
        Assert.That(outstanding.Remove(used.Id, out BlkRequest? r), Is.True, $"head {used.Id} completed twice (or was never submitted)");
        Assert.That(blk.StatusOf(r!), Is.EqualTo(BlkWire.StatusOk), $"request at sector {r!.Sector}");
        Assert.That(used.Written, Is.EqualTo(1u), "a write's used length is its status byte");
        completed.Add(r);
    }

    /// <summary>Takes every used element now available, checking each against <paramref name="outstanding"/>.</summary>
    private static int Drain(FrontendHarness h, BlkDriver blk, Dictionary<ushort, BlkRequest> outstanding, List<BlkRequest> completed)
    {
        while (h.Queues[0].Driver.TryGetUsed(out ushort id, out uint written))
        {
            Collect(blk, outstanding, completed, (id, written));
        }

        return completed.Count;
    }

    private static int CountInflight(MappedMemory area, int queueSize)
    {
        int count = 0;
        for (int i = 0; i < queueSize; i++)
        {
            if (area.GetSpan((ulong)(InflightHeader + (i * InflightDescState)), 1)[0] == 1)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Disposes every back-end process the test started, whatever happens.</summary>
    private sealed class ProcessBackendOwner(ProcessBackend first) : IDisposable
    {
        private readonly List<ProcessBackend> _all = [first];

        public void Add(ProcessBackend backend) => _all.Add(backend);

        public void Dispose()
        {
            foreach (ProcessBackend b in _all)
            {
                b.Dispose();
            }
        }
    }
}
