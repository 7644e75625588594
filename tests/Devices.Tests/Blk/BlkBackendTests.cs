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

    [TestCase(4, Description = "I/O threads")]
    [TestCase(0, Description = "inline on the worker, as for an image on tmpfs")]
    public void ManyRequestsInFlight_WritesThenReads_ChecksumsMatch(int ioThreads)
    {
        using Rig rig = new(imageBytes: 16 << 20, ioThreads: ioThreads);
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
    public void Multiqueue_TwoQueuesInParallel()
    {
        using Rig rig = new(imageBytes: 16 << 20, numQueues: 2);
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

    [Test]
    public void GetVringBase_WaitsForInFlight_EveryPoppedRequestIsUsed()
    {
        using Rig rig = new(imageBytes: 64 << 20);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 128);
        byte[] big = BlkHarness.RandomBytes(256 * 1024, seed: 3);
        for (int i = 0; i < 100; i++)
        {
            q.StageIndirectChain(rig.Header(BlkRequestType.Out, (ulong)i * 512), rig.Readable(big), rig.Status());
        }

        q.Publish();
        kick.Signal();
        Thread.Sleep(5);

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
        Stopwatch sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 5000 && !rig.Device.Processor.Image.Handle.IsClosed)
        {
            if (rig.Logs.Contains("broken"))
            {
                break;
            }

            Thread.Sleep(5);
        }

        Assert.That(q.ReadUsedIdx(), Is.Zero);
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

    /// <summary>A blk device behind a real back-end handler on a socketpair.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly UnixSocket _front;
        private readonly VhostUserChannel _back;
        private readonly Thread _control;
        private readonly ManualResetEventSlim _closed = new();
        private readonly List<EventFd> _fds = new();
        private readonly List<ulong> _statuses = new();
        private readonly string _path;
        private readonly Microsoft.Extensions.Logging.ILoggerFactory _loggerFactory;

        public Rig(long imageBytes = 1 << 20, int numQueues = 1, string? serial = null, int? ioThreads = null)
        {
            _path = BlkHarness.NewImagePath();
            using (FileStream f = new(_path, FileMode.CreateNew))
            {
                f.SetLength(imageBytes);
            }

            Device = new BlkDevice(new BlkDeviceOptions { Path = _path, NumQueues = numQueues, QueueSize = 256, Serial = serial, IoThreadsPerQueue = ioThreads });
            Logs = new CapturingLoggerProvider();
            _loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs));
            Handler = new BackendHandler(Device, _loggerFactory);
            (UnixSocket front, UnixSocket back) = UnixSocket.CreatePair();
            _front = front;
            _back = new VhostUserChannel(back);
            Frontend = new VhostUserFrontend(front) { ReplyTimeout = TimeSpan.FromSeconds(20) };
            _control = new Thread(() =>
            {
                while (Handler.HandleMessage(_back))
                {
                }

                Handler.Disconnect();
                _closed.Set();
            })
            { IsBackground = true, Name = "blk-test-control" };
            _control.Start();
            Memory = new TestGuestMemory(64 << 20);

            ulong offered = Frontend.GetFeatures();
            Frontend.SetProtocolFeatures(Frontend.GetProtocolFeatures() & ~ProtocolFeatures.InflightShmfd);
            Frontend.SetOwner();
            Frontend.SetFeatures(offered);
            Frontend.SetMemTable(new[] { (new MemoryRegion(Memory.Gpa, Memory.Size, Memory.UserAddr, Memory.MmapOffset), Memory.Fd) });
        }

        public BlkDevice Device { get; }

        public BackendHandler Handler { get; }

        public VhostUserFrontend Frontend { get; }

        public TestGuestMemory Memory { get; }

        public CapturingLoggerProvider Logs { get; }

        public (DriverQueue Queue, EventFd Kick, EventFd Call) StartRing(uint index, ushort size)
        {
            DriverQueue queue = new(Memory, size);
            EventFd kick = EventFd.Create();
            EventFd call = EventFd.Create();
            _fds.Add(kick);
            _fds.Add(call);
            Frontend.SetVringNum(index, size);
            Frontend.SetVringAddr(new VringAddress(index, 0, queue.DescTableUserAddr, queue.UsedRingUserAddr, queue.AvailRingUserAddr, 0));
            Frontend.SetVringBase(index, 0);
            Frontend.SetVringCall(index, call.Handle);
            Frontend.SetVringKick(index, kick.Handle);
            Frontend.SetVringEnable(index, true);
            return (queue, kick, call);
        }

        public DriverBuffer Header(BlkRequestType type, ulong sector) => Header((uint)type, sector);

        public DriverBuffer Header(uint type, ulong sector)
        {
            Span<byte> h = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(h, type);
            BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
            return DriverBuffer.DeviceReadable(Memory.AllocBytes(h), 16);
        }

        public DriverBuffer Readable(byte[] data) => DriverBuffer.DeviceReadable(Memory.AllocBytes(data), (uint)data.Length);

        public DriverBuffer Writable(int length)
        {
            ulong gpa = Memory.Alloc((ulong)length);
            Memory.Fill(gpa, length, 0xCC);
            return DriverBuffer.DeviceWritable(gpa, (uint)length);
        }

        public DriverBuffer Status()
        {
            DriverBuffer b = Writable(1);
            Memory.Fill(b.Gpa, 1, 0xEE);
            _statuses.Add(b.Gpa);
            return b;
        }

        public void ClearStatuses() => _statuses.Clear();

        public bool AllStatusesOk() => _statuses.All(gpa => Memory.ReadBytes(gpa, 1)[0] == (byte)BlkStatus.Ok);

        public static Dictionary<ushort, uint> WaitUsed(DriverQueue queue, int count)
        {
            Dictionary<ushort, uint> used = new();
            Stopwatch sw = Stopwatch.StartNew();
            while (used.Count < count)
            {
                if (queue.TryGetUsed(out ushort id, out uint length))
                {
                    Assert.That(used.TryAdd(id, length), Is.True, $"head {id} used twice");
                    continue;
                }

                if (sw.Elapsed > TimeSpan.FromSeconds(30))
                {
                    Assert.Fail($"only {used.Count} of {count} requests completed");
                }

                Thread.Sleep(1);
            }

            return used;
        }

        public byte[] FileBytes() => File.ReadAllBytes(_path);

        public void Dispose()
        {
            Frontend.Dispose();
            _front.Dispose();
            _closed.Wait(TimeSpan.FromSeconds(20));
            _control.Join(TimeSpan.FromSeconds(20));
            Handler.Dispose();
            _back.Dispose();
            Device.Dispose();
            foreach (EventFd fd in _fds)
            {
                fd.Dispose();
            }

            Memory.Dispose();
            _loggerFactory.Dispose();
            _closed.Dispose();
            File.Delete(_path);
        }
    }

    /// <summary>Keeps every formatted log line so a test can look for an event.</summary>
    private sealed class CapturingLoggerProvider : Microsoft.Extensions.Logging.ILoggerProvider
    {
        private readonly List<string> _lines = new();

        public bool Contains(string text)
        {
            lock (_lines)
            {
                return _lines.Any(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));
            }
        }

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

            public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._lines)
                {
                    owner._lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
