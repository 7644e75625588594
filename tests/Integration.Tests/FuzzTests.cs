// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

/// <summary>
/// Each back end against <see cref="VhostUserFuzzer"/> for a few seconds with a fixed seed: it must
/// stay alive, leak no fds, and serve a correct front end afterwards.
/// </summary>
/// <remarks>
/// For longer local runs: <c>VIRTIO_LOOPBACK_FUZZ_SECONDS</c> (budget per back end),
/// <c>VIRTIO_LOOPBACK_FUZZ_SEED</c> (replaces the fixed seeds), and
/// <c>VIRTIO_LOOPBACK_FUZZ_NO_OVERSIZED=1</c> (no regions larger than their fd: lets the fuzzers look
/// past the SIGBUS that <see cref="HostileFrontendTests"/> reproduces).
/// </remarks>
[TestFixture]
public sealed class FuzzTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("VIRTIO_LOOPBACK_FUZZ_SECONDS"), out int s) && s > 0 ? s : 4);

    private static readonly bool NoOversized = Environment.GetEnvironmentVariable("VIRTIO_LOOPBACK_FUZZ_NO_OVERSIZED") == "1";

    private static readonly int MaxMessages = Budget.TotalSeconds > 4 ? int.MaxValue : 30000;

    [TestCase(20240601)]
    public void RngProcessSurvivesFuzzing(int seed)
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, Path.Combine(dir, "rng.sock"), "--log-level", "error");
            Fuzz(backend, new FuzzTarget("rng", 1, 1024, IsBlk: false), seed);

            using FrontendHarness h = FrontendHarness.Attach(backend);
            ulong gpa = h.Alloc(256);
            h.Submit(0, DriverBuffer.DeviceWritable(gpa, 100), DriverBuffer.DeviceWritable(gpa + 128, 128));
            Assert.That(h.WaitUsed(0).Length, Is.EqualTo(228u), "a fresh session after fuzzing gets its bytes");
            Assert.That(h.Memory.ReadBytes(gpa + 128, 128).Distinct().Count(), Is.GreaterThan(1));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase(20240602)]
    public void BlkProcessSurvivesFuzzing(int seed)
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            string image = BlkWire.CreateImage(dir, 4 << 20);
            using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Blk, Path.Combine(dir, "blk.sock"), "--blk-file", image, "--num-queues", "2", "--log-level", "error");
            Fuzz(backend, new FuzzTarget("blk", 2, 128, IsBlk: true), seed);

            using FrontendHarness h = FrontendHarness.Attach(backend);
            BlkDriver blk = new(h, seed);
            for (int q = 0; q < 2; q++)
            {
                byte[] data = blk.RandomBytes(8192);
                blk.Write(q, 40, data, pieces: 3);
                Assert.That(BlkWire.Sha256(blk.Read(q, 40, data.Length, pieces: 2, indirect: true)), Is.EqualTo(BlkWire.Sha256(data)), $"a fresh session after fuzzing round-trips on queue {q}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase(20240603)]
    public void InputBackendSurvivesFuzzing(int seed)
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            FakeEvdev fake = new();
            using InProcessBackend backend = new(new InputDevice(new FakeEvdevOpener(fake)), Path.Combine(dir, "input.sock"));
            Fuzz(backend, new FuzzTarget("input", 2, 256, IsBlk: false, OversizedRegions: false), seed);

            using FrontendHarness h = FrontendHarness.Attach(backend, new HarnessOptions { QueueSize = 64 });
            Assert.That(InputWire.Query(h.Frontend, InputWire.IdName, 0), Is.EqualTo(System.Text.Encoding.UTF8.GetBytes(fake.Name)));
            System.Collections.Generic.Dictionary<ushort, ulong> bufferOf = new();
            for (int i = 0; i < 4; i++)
            {
                ulong gpa = h.Alloc(8, 8);
                bufferOf[h.Submit(0, DriverBuffer.DeviceWritable(gpa, 8))] = gpa;
            }

            InputEvent[] batch = [new(InputWire.EvKey, 30, 1), InputWire.Syn];
            fake.Push(batch);
            InputEvent[] got = h.WaitUsed(0, 2).Select(u => InputWire.Decode(h.Memory.ReadBytes(bufferOf[u.Id], 8))).ToArray();
            Assert.That(got, Is.EqualTo(batch), "events flow in a fresh session after fuzzing");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs the fuzzer with a watchdog; fails with the seed and the last messages if the back end dies or hangs.</summary>
    private static void Fuzz(IBackend backend, FuzzTarget target, int seed)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("VIRTIO_LOOPBACK_FUZZ_SEED"), out int forced))
        {
            seed = forced;
        }

        if (NoOversized)
        {
            target = target with { OversizedRegions = false };
        }

        TestContext.Progress.WriteLine($"fuzzing {target.Name} with seed {seed} for {Budget.TotalSeconds} s");
        int? pid = (backend as ProcessBackend)?.Pid;
        int fdsBefore = pid is int p1 ? CountFds(p1) : 0;
        string[] fdTargetsBefore = pid is int p0 ? FdTargets(p0) : [];
        using VhostUserFuzzer fuzzer = new(backend, target, seed);
        Task run = Task.Factory.StartNew(() => fuzzer.Run(Budget, MaxMessages), TaskCreationOptions.LongRunning);
        bool finished;
        try
        {
            finished = run.Wait(Budget + TimeSpan.FromSeconds(60));
        }
        catch (AggregateException e)
        {
            Assert.Fail($"Fuzzing {target.Name} failed with seed {seed} after {fuzzer.Episodes} episodes, {fuzzer.Messages} messages: {e.InnerException}\nlast messages:\n{fuzzer.Recent}\n{backend.Describe()}");
            return;
        }

        Assert.That(finished, Is.True, $"Fuzzing {target.Name} hung with seed {seed} (the back end stopped reading or answering).\nlast messages:\n{fuzzer.Recent}\n{backend.Describe()}");
        TestContext.Out.WriteLine($"{target.Name}: seed {seed}: {fuzzer.Episodes} episodes, {fuzzer.Messages} messages, {fuzzer.Kicks} kicks");
        Assert.That(backend.IsAlive, Is.True, $"seed {seed}: {backend.Describe()}\nlast messages:\n{fuzzer.Recent}");

        if (pid is int p2)
        {
            // Connections are torn down asynchronously; give the back end a moment to close what it held.
            int fdsAfter = CountFds(p2);
            Stopwatch clock = Stopwatch.StartNew();
            while (fdsAfter > fdsBefore + 4 && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(50);
                fdsAfter = CountFds(p2);
            }

            TestContext.Out.WriteLine($"{target.Name}: open fds before {fdsBefore}, after {fdsAfter}");
            if (fdsAfter > fdsBefore)
            {
                TestContext.Out.WriteLine($"{target.Name}: fds opened meanwhile: {string.Join(", ", FdTargets(p2).Except(fdTargetsBefore).Where(IsSessionFd))}");
            }

            Assert.That(fdsAfter, Is.LessThanOrEqualTo(fdsBefore + 4), $"seed {seed}: the back end leaks fds ({fdsBefore} before fuzzing, {fdsAfter} after)");
        }
    }

    /// <summary>
    /// The fds of <paramref name="pid"/> a session can leave behind: memfds, eventfds/epoll/timerfds and
    /// sockets. Regular files are left out: a JIT-run back end opens assemblies and symbol files as it
    /// formats its first exception stack traces.
    /// </summary>
    private static int CountFds(int pid) => FdTargets(pid).Count(IsSessionFd);

    private static bool IsSessionFd(string target) =>
        target.Contains("->/memfd:", StringComparison.Ordinal) || target.Contains("->anon_inode:", StringComparison.Ordinal) || target.Contains("->socket:", StringComparison.Ordinal);

    /// <summary>"fd -> target" for every open fd of <paramref name="pid"/>.</summary>
    private static string[] FdTargets(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd")
        .Select(fd =>
        {
            try
            {
                return $"{Path.GetFileName(fd)}->{new FileInfo(fd).LinkTarget}";
            }
            catch (IOException)
            {
                return Path.GetFileName(fd);
            }
        })
        .ToArray();
}
