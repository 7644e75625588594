// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
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

/// <summary>A blk device behind a real back-end handler on a socketpair.</summary>
internal sealed class Rig : IDisposable
{
    private readonly UnixSocket _front;
    private readonly VhostUserChannel _back;
    private readonly Thread _control;
    private readonly ManualResetEventSlim _closed = new();
    private readonly List<EventFd> _fds = new();
    private readonly List<ulong> _statuses = new();
    private readonly string _path;
    private readonly Microsoft.Extensions.Logging.ILoggerFactory _loggerFactory;

    /// <param name="splitAt">
    /// When set, the guest memory goes to the back end as two adjacent regions that meet this many
    /// bytes into it (one memfd, two mappings), as QEMU sends RAM split around a hole or a DIMM.
    /// </param>
    /// <param name="ioEngine">The I/O engine; threads unless a test is about io_uring, so that a test means the same on tmpfs and on a disk.</param>
    /// <param name="direct">Open the image with <c>--direct</c>.</param>
    public Rig(long imageBytes = 1 << 20, int numQueues = 1, string? serial = null, int? ioThreads = null, ulong? splitAt = null, BlkIoEngine ioEngine = BlkIoEngine.Threads, bool direct = false)
    {
        _path = BlkHarness.NewImagePath();
        using (FileStream f = new(_path, FileMode.CreateNew))
        {
            f.SetLength(imageBytes);
        }

        Device = new BlkDevice(new BlkDeviceOptions { Path = _path, NumQueues = numQueues, QueueSize = 256, Serial = serial, IoThreads = ioThreads, IoEngine = ioEngine, Direct = direct });
        Logs = new CapturingLoggerProvider();
        _loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Debug));
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
        Frontend.SetMemTable(MemoryTable(splitAt));
    }

    public BlkDevice Device { get; }

    /// <summary>The whole guest memory as one region.</summary>
    public MemoryRegion MainRegion => new(Memory.Gpa, Memory.Size, Memory.UserAddr, Memory.MmapOffset);

    /// <summary>The table to send: the whole memory, or two adjacent regions meeting at <paramref name="splitAt"/>.</summary>
    public (MemoryRegion, FileDescriptor)[] MemoryTable(ulong? splitAt = null)
    {
        if (splitAt is not { } at)
        {
            return [(MainRegion, Memory.Fd)];
        }

        return
        [
            (new MemoryRegion(Memory.Gpa, at, Memory.UserAddr, Memory.MmapOffset), Memory.Fd),
            (new MemoryRegion(Memory.Gpa + at, Memory.Size - at, Memory.UserAddr + at, Memory.MmapOffset + at), Memory.Fd),
        ];
    }

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

    /// <summary>A device-readable copy of <paramref name="data"/> at a guest address <paramref name="skew"/> bytes past a 4 KiB boundary.</summary>
    public DriverBuffer ReadableAt(byte[] data, int skew)
    {
        ulong gpa = Memory.Alloc((ulong)(data.Length + skew), 4096) + (ulong)skew;
        data.CopyTo(Memory.GetSpan(gpa, data.Length));
        return DriverBuffer.DeviceReadable(gpa, (uint)data.Length);
    }

    /// <summary>A device-writable buffer at a guest address <paramref name="skew"/> bytes past a 4 KiB boundary.</summary>
    public DriverBuffer WritableAt(int length, int skew)
    {
        ulong gpa = Memory.Alloc((ulong)(length + skew), 4096) + (ulong)skew;
        Memory.Fill(gpa, length, 0xCC);
        return DriverBuffer.DeviceWritable(gpa, (uint)length);
    }

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
internal sealed class CapturingLoggerProvider : Microsoft.Extensions.Logging.ILoggerProvider
{
    private readonly List<string> _lines = new();

    public bool Contains(string text) => Count(text) > 0;

    /// <summary>How many log lines contain <paramref name="text"/>.</summary>
    public int Count(string text)
    {
        lock (_lines)
        {
            return _lines.Count(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));
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
