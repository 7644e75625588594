// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;
using System.IO;
using NUnit.Framework;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

/// <summary>
/// Back ends and our front end while SIGUSR1, SIGHUP and SIGCHLD arrive every millisecond: the
/// programs handle all three (statistics, a resize check, nothing), and every system call they make
/// is interrupted over and over, in the handshake and during I/O.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120000)]
public sealed class SignalStormTests
{
    private const int Rounds = 6;

    /// <summary>How long the rounds may go on waiting for the storm to have sent enough signals.</summary>
    private static readonly TimeSpan StormLimit = TimeSpan.FromSeconds(20);

    private string _dir = null!;
    private IDisposable? _handlers;

    [SetUp]
    public void CreateDir()
    {
        _dir = FrontendHarness.NewTempDir();
        _handlers = SignalStorm.InstallHandlers();
    }

    [TearDown]
    public void RemoveDir()
    {
        _handlers?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [TestCase(BackendPrograms.Rng)]
    [TestCase(BackendPrograms.Blk)]
    public void BackendUnderASignalStorm_ServesHandshakesAndIo_ThenExitsOnSigterm(string program)
    {
        string socket = Path.Combine(_dir, "storm.sock");
        string[] args = program == BackendPrograms.Blk
            ? ["--blk-file", BlkWire.CreateImage(_dir, 8 << 20), "--log-level", "warn"]
            : ["--log-level", "warn"];
        using ProcessBackend backend = ProcessBackend.Start(program, socket, args);
        long sent;
        using (SignalStorm storm = SignalStorm.AtProcess(backend.Pid))
        {
            // At least Rounds rounds, and on until the storm sent enough signals: a fast machine
            // can finish the rounds before the storm thread got going.
            Stopwatch clock = Stopwatch.StartNew();
            for (int round = 0; round < Rounds || (storm.Sent <= Rounds * 10 && clock.Elapsed < StormLimit); round++)
            {
                Assert.That(backend.IsAlive, Is.True, $"round {round}: {backend.Describe()}");
                using FrontendHarness h = FrontendHarness.Attach(backend);
                DoIo(h, program, round);
            }

            sent = storm.Sent;
        }

        TestContext.Out.WriteLine($"{sent} signals delivered to {program}");
        Assert.That(sent, Is.GreaterThan(Rounds * 10), "the storm reached the back end");
        Assert.That(backend.IsAlive, Is.True, backend.Describe());
        AssertSigtermEndsItWithinASecond(backend, socket);
    }

    [Test]
    public void FrontendUnderASignalStorm_HandshakesAndIo()
    {
        string image = BlkWire.CreateImage(_dir, 8 << 20);
        using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Blk, Path.Combine(_dir, "blk.sock"), "--blk-file", image, "--log-level", "warn");
        using SignalStorm storm = SignalStorm.AtThreads([SignalStorm.CurrentThreadId()]);
        Stopwatch clock = Stopwatch.StartNew();
        for (int round = 0; round < Rounds || (storm.Sent <= Rounds * 10 && clock.Elapsed < StormLimit); round++)
        {
            using FrontendHarness h = FrontendHarness.Attach(backend);
            DoIo(h, BackendPrograms.Blk, round);
        }

        TestContext.Out.WriteLine($"{storm.Sent} signals delivered to the front end's thread");
        Assert.That(storm.Sent, Is.GreaterThan(Rounds * 10));
        Assert.That(backend.IsAlive, Is.True, backend.Describe());
    }

    /// <summary>SIGTERM must end a back end within a second, exit code 0, socket file gone.</summary>
    internal static void AssertSigtermEndsItWithinASecond(ProcessBackend backend, string socket)
    {
        Stopwatch clock = Stopwatch.StartNew();
        backend.Signal(Native.SIGTERM);
        bool exited = backend.WaitForExit(TimeSpan.FromSeconds(10));
        clock.Stop();
        Assert.That(exited, Is.True, $"SIGTERM did not end the back end: {backend.Describe()}");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), $"SIGTERM took {clock.ElapsedMilliseconds} ms: {backend.Describe()}");
        Assert.That(backend.ExitCode, Is.Zero, backend.Describe());
        Assert.That(File.Exists(socket), Is.False, "the socket file is removed at shutdown");
    }

    private static void DoIo(FrontendHarness h, string program, int round)
    {
        if (program == BackendPrograms.Blk)
        {
            BlkDriver blk = new(h, seed: round);
            byte[] data = blk.RandomBytes(64 << 10);
            ulong sector = (ulong)round * 256;
            blk.Write(0, sector, data, pieces: 3);
            Assert.That(BlkWire.Sha256(blk.Read(0, sector, data.Length, pieces: 2)), Is.EqualTo(BlkWire.Sha256(data)), $"round {round}");
            return;
        }

        for (int i = 0; i < 8; i++)
        {
            ulong gpa = h.Alloc(4096);
            ushort head = h.Submit(0, DriverBuffer.DeviceWritable(gpa, 4096));
            (ushort id, uint written) = h.WaitUsed(0);
            Assert.That(id, Is.EqualTo(head));
            Assert.That(written, Is.EqualTo(4096u));
        }
    }
}
