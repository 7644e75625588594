// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NUnit.Framework;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

/// <summary>vhost-user-rng as a real process, driven through real sockets, memfd memory and eventfds.</summary>
[TestFixture]
public sealed class RngTests
{
    private string _dir = null!;
    private ProcessBackend _backend = null!;

    [OneTimeSetUp]
    public void StartBackend()
    {
        _dir = FrontendHarness.NewTempDir();
        _backend = ProcessBackend.Start(BackendPrograms.Rng, Path.Combine(_dir, "rng.sock"), "--log-level", "warn");
    }

    [OneTimeTearDown]
    public void StopBackend()
    {
        _backend?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void SingleDescriptorChainsAreFilledCompletely()
    {
        using FrontendHarness h = FrontendHarness.Attach(_backend);
        Assert.That(h.OfferedFeatures & VirtioBits.Version1, Is.Not.Zero);
        foreach (int length in new[] { 1, 2, 16, 512, 4096, 65536 })
        {
            ulong gpa = h.Alloc(length);
            ushort head = h.Submit(0, DriverBuffer.DeviceWritable(gpa, (uint)length));
            (ushort id, uint written) = h.WaitUsed(0);
            Assert.That(id, Is.EqualTo(head));
            Assert.That(written, Is.EqualTo((uint)length), $"a {length}-byte buffer is filled completely");
            if (length >= 16)
            {
                AssertNotConstant(h.Memory.ReadBytes(gpa, length), $"{length}-byte buffer");
            }
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void MultiDescriptorChainsAreFilledCompletely(bool indirect)
    {
        using FrontendHarness h = FrontendHarness.Attach(_backend);
        int[] sizes = [1, 7, 100, 4096, 333, 16];
        for (int round = 0; round < 3; round++)
        {
            DriverBuffer[] buffers = sizes.Select(s => DriverBuffer.DeviceWritable(h.Alloc(s + 8), (uint)s)).ToArray();
            ushort head = indirect ? h.SubmitIndirect(0, buffers) : h.Submit(0, buffers);
            (ushort id, uint written) = h.WaitUsed(0);
            Assert.That(id, Is.EqualTo(head));
            Assert.That(written, Is.EqualTo((uint)sizes.Sum()));
            List<byte[]> contents = buffers.Select(b => h.Memory.ReadBytes(b.Gpa, (int)b.Length)).ToList();
            foreach (byte[] c in contents.Where(c => c.Length >= 16))
            {
                AssertNotConstant(c, $"descriptor of {c.Length} bytes");
            }

            Assert.That(contents[3].AsSpan(0, 16).SequenceEqual(contents[4].AsSpan(0, 16)), Is.False, "two descriptors got the same bytes");
        }
    }

    [Test]
    public void OutputLooksRandom()
    {
        using FrontendHarness h = FrontendHarness.Attach(_backend);
        const int Size = 1 << 16;
        ulong gpa = h.Alloc(Size);
        h.Submit(0, DriverBuffer.DeviceWritable(gpa, Size));
        Assert.That(h.WaitUsed(0).Length, Is.EqualTo((uint)Size));
        byte[] data = h.Memory.ReadBytes(gpa, Size);
        int[] histogram = new int[256];
        foreach (byte b in data)
        {
            histogram[b]++;
        }

        // Expected 256 per value; even 150..370 is many standard deviations wide.
        Assert.That(histogram.Min(), Is.GreaterThan(150));
        Assert.That(histogram.Max(), Is.LessThan(370));

        // Consecutive requests do not repeat each other.
        HashSet<string> seen = new();
        for (int i = 0; i < 32; i++)
        {
            ulong small = h.Alloc(32);
            h.Submit(0, DriverBuffer.DeviceWritable(small, 32));
            h.WaitUsed(0);
            Assert.That(seen.Add(Convert.ToHexString(h.Memory.ReadBytes(small, 32))), Is.True, "a 32-byte answer repeated");
        }
    }

    [Test]
    public void ManyChainsInFlightAllComplete()
    {
        using FrontendHarness h = FrontendHarness.Attach(_backend);
        DriverQueue d = h.Queues[0].Driver;
        Dictionary<ushort, uint> expected = new();
        for (int i = 0; i < 100; i++)
        {
            uint length = (uint)(1 + (i * 37 % 700));
            ushort head = d.StageChain(DriverBuffer.DeviceWritable(h.Alloc((int)length), length));
            expected[head] = length;
        }

        d.Publish();
        h.Kick(0);
        foreach ((ushort id, uint length) in h.WaitUsed(0, expected.Count))
        {
            Assert.That(expected.Remove(id, out uint wanted), Is.True, $"head {id} completed twice or was never submitted");
            Assert.That(length, Is.EqualTo(wanted));
        }

        h.AssertNothingMoreUsed(0);
    }

    [Test]
    public void FileSourceIsReadInOrderAndWraps()
    {
        string file = Path.Combine(_dir, "entropy.bin");
        byte[] content = new byte[10000];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(file, content);
        using FrontendHarness h = FrontendHarness.StartProcess(BackendPrograms.Rng, ["--source", file, "--log-level", "warn"]);
        List<byte> got = new();
        foreach (int length in new[] { 4096, 4096, 4096, 4096, 1000 })
        {
            ulong gpa = h.Alloc(length);
            h.Submit(0, DriverBuffer.DeviceWritable(gpa, (uint)length));
            Assert.That(h.WaitUsed(0).Length, Is.EqualTo((uint)length));
            got.AddRange(h.Memory.ReadBytes(gpa, length));
        }

        byte[] expected = Enumerable.Range(0, got.Count).Select(i => content[i % content.Length]).ToArray();
        Assert.That(got.ToArray(), Is.EqualTo(expected), "the file's bytes, in order, starting over at its end");
    }

    [Test]
    public void RateLimitCapsThroughputWithoutStallingTheLoop()
    {
        const int MaxBytes = 4096;
        const int PeriodMs = 100;
        const int BufferSize = 512;

        // Unlimited first, on the shared back end: how much the same loop gets without a limit.
        long unlimited = Pump(FrontendHarness.Attach(_backend), TimeSpan.FromMilliseconds(500), BufferSize, out _, out _);

        using FrontendHarness h = FrontendHarness.StartProcess(
            BackendPrograms.Rng,
            ["--max-bytes", MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--period", PeriodMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-level", "warn"],
            connect: true);
        TimeSpan window = TimeSpan.FromMilliseconds(1500);
        long limited = Pump(h, window, BufferSize, out List<long> arrivalsMs, out TimeSpan elapsed, dispose: false);

        // Any stretch of the clock touches at most ceil(elapsed / period) + 1 of the bucket's periods.
        long periods = (long)Math.Ceiling(window.TotalMilliseconds / PeriodMs);
        long touched = (long)Math.Ceiling(elapsed.TotalMilliseconds / PeriodMs) + 1;
        TestContext.Out.WriteLine($"unlimited: {unlimited} bytes in 500 ms; limited: {limited} bytes in {elapsed.TotalMilliseconds:F0} ms ({MaxBytes} per {PeriodMs} ms)");
        Assert.That(limited, Is.LessThanOrEqualTo(MaxBytes * touched), "more than the limit allows");
        Assert.That(limited, Is.GreaterThanOrEqualTo(MaxBytes * (periods / 3)), "the throttled loop stalled instead of refilling each period");
        Assert.That(unlimited, Is.GreaterThan(limited * 2), "the limit made no measurable difference");

        // Bytes kept coming throughout the window, not in one burst.
        int busyPeriods = arrivalsMs.Select(t => t / PeriodMs).Distinct().Count();
        Assert.That(busyPeriods, Is.GreaterThanOrEqualTo((int)periods / 2), "completions were not spread over the periods");

        // The control path answers while the ring is throttled.
        Stopwatch clock = Stopwatch.StartNew();
        Assert.That(h.Frontend.GetFeatures() & VirtioBits.Version1, Is.Not.Zero);
        h.Frontend.GetProtocolFeatures();
        Assert.That(clock.ElapsedMilliseconds, Is.LessThan(2000), "control messages were held up by the throttled ring");
        h.Dispose();
    }

    [Test]
    public void SigtermEndsTheProgramCleanly()
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            string socket = Path.Combine(dir, "term.sock");
            using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, socket, "--log-level", "warn");
            using (FrontendHarness h = FrontendHarness.Attach(backend))
            {
                ulong gpa = h.Alloc(64);
                h.Submit(0, DriverBuffer.DeviceWritable(gpa, 64));
                h.WaitUsed(0);
                backend.Signal(Native.SIGTERM);
                Assert.That(backend.WaitForExit(TimeSpan.FromSeconds(15)), Is.True, $"SIGTERM did not end the back end while a front end was connected: {backend.Describe()}");
            }

            Assert.That(backend.ExitCode, Is.Zero, backend.Describe());
            Assert.That(File.Exists(socket), Is.False, "the socket file is removed at shutdown");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Keeps 16 buffers in flight for <paramref name="window"/>; returns the bytes received.</summary>
    private static long Pump(FrontendHarness h, TimeSpan window, int bufferSize, out List<long> arrivalsMs, out TimeSpan elapsed, bool dispose = true)
    {
        try
        {
            arrivalsMs = new List<long>();
            DriverQueue d = h.Queues[0].Driver;
            ulong[] buffers = new ulong[16];
            for (int i = 0; i < buffers.Length; i++)
            {
                buffers[i] = h.Alloc(bufferSize);
            }

            Dictionary<ushort, int> slotOf = new();
            for (int i = 0; i < buffers.Length; i++)
            {
                slotOf[d.StageChain(DriverBuffer.DeviceWritable(buffers[i], (uint)bufferSize))] = i;
            }

            d.Publish();
            h.Kick(0);
            long total = 0;
            Stopwatch clock = Stopwatch.StartNew();
            while (clock.Elapsed < window)
            {
                bool any = false;
                while (d.TryGetUsed(out ushort id, out uint length))
                {
                    any = true;
                    Assert.That(length, Is.LessThanOrEqualTo((uint)bufferSize));
                    total += length;
                    arrivalsMs.Add(clock.ElapsedMilliseconds);
                    int slot = slotOf[id];
                    slotOf.Remove(id);
                    slotOf[d.StageChain(DriverBuffer.DeviceWritable(buffers[slot], (uint)bufferSize))] = slot;
                }

                if (any)
                {
                    d.Publish();
                    h.Kick(0);
                }
                else if (!d.EnableInterrupts())
                {
                    h.WaitCall(0, 20);
                }
            }

            elapsed = clock.Elapsed;
            return total;
        }
        finally
        {
            if (dispose)
            {
                h.Dispose();
            }
        }
    }

    private static void AssertNotConstant(byte[] data, string what)
    {
        Assert.That(data.Distinct().Count(), Is.GreaterThan(1), $"{what} holds a single repeated byte value");
    }
}
