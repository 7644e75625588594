// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>
/// A back end served over a real socketpair: a <see cref="BackendHandler"/> on its own control
/// thread, our <see cref="VhostUserFrontend"/> on the other end, and a raw channel over the same
/// socket for hand-made (malformed) messages. Guest memory is a memfd the test maps too.
/// </summary>
internal sealed class BackendHarness : IDisposable
{
    private readonly UnixSocket _frontSocket;
    private readonly Thread _control;
    private readonly List<EventFd> _eventFds = new();

    public BackendHarness(FakeDevice? device = null, bool negotiate = true, ProtocolFeatures? protocolFeatures = null, ulong? features = null, LogLevel minimumLevel = LogLevel.Trace, int? queueThreads = null, int pollMicroseconds = 0)
    {
        Device = device ?? new FakeDevice();
        Logs = new ListLoggerProvider();
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(minimumLevel));
        Handler = new BackendHandler(Device, LoggerFactory, queueThreads, pollMicroseconds);
        (UnixSocket front, UnixSocket back) = UnixSocket.CreatePair();
        _frontSocket = front;
        BackChannel = new VhostUserChannel(back);
        Raw = new VhostUserChannel(front);
        Frontend = new VhostUserFrontend(front) { ReplyTimeout = TimeSpan.FromSeconds(10) };
        _control = new Thread(() =>
        {
            while (Handler.HandleMessage(BackChannel))
            {
            }

            Handler.Disconnect();
            ConnectionClosed.Set();
        })
        { IsBackground = true, Name = "test-control" };
        _control.Start();
        Memory = new TestGuestMemory();
        if (negotiate)
        {
            Negotiate(protocolFeatures, features);
        }
    }

    public FakeDevice Device { get; }

    public ListLoggerProvider Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    public BackendHandler Handler { get; }

    public VhostUserChannel BackChannel { get; }

    /// <summary>A second channel over the front end's socket, for hand-made messages.</summary>
    public VhostUserChannel Raw { get; }

    public VhostUserFrontend Frontend { get; }

    public TestGuestMemory Memory { get; }

    public ManualResetEventSlim ConnectionClosed { get; } = new();

    /// <summary>The usual QEMU opening: features, protocol features, owner, memory table.</summary>
    public void Negotiate(ProtocolFeatures? protocolFeatures = null, ulong? features = null)
    {
        ulong offered = Frontend.GetFeatures();
        Frontend.SetProtocolFeatures(protocolFeatures ?? Frontend.GetProtocolFeatures());
        Frontend.SetOwner();
        Frontend.SetFeatures(features ?? offered);
        SetMemTable();
    }

    public void SetMemTable() =>
        Frontend.SetMemTable(new[] { (new MemoryRegion(Memory.Gpa, Memory.Size, Memory.UserAddr, Memory.MmapOffset), Memory.Fd) });

    public EventFd NewEventFd()
    {
        EventFd fd = EventFd.Create();
        _eventFds.Add(fd);
        return fd;
    }

    /// <summary>NUM, ADDR, BASE, CALL, then KICK (which starts the ring), as QEMU orders them.</summary>
    public (DriverQueue Queue, EventFd Kick, EventFd Call) StartRing(uint index, ushort size = 16, ushort vringBase = 0, DriverQueue? queue = null, bool enable = true)
    {
        queue ??= new DriverQueue(Memory, size);
        EventFd kick = NewEventFd();
        EventFd call = NewEventFd();
        Frontend.SetVringNum(index, queue.Size);
        Frontend.SetVringAddr(AddressOf(index, queue));
        Frontend.SetVringBase(index, vringBase);
        Frontend.SetVringCall(index, call.Handle);
        Frontend.SetVringKick(index, kick.Handle);
        if (enable)
        {
            Frontend.SetVringEnable(index, true);
        }

        return (queue, kick, call);
    }

    public static VringAddress AddressOf(uint index, DriverQueue queue) =>
        new(index, 0, queue.DescTableUserAddr, queue.UsedRingUserAddr, queue.AvailRingUserAddr, 0);

    /// <summary>Adds a chain of 8 readable bytes and a writable buffer of 8, kicks, and returns the head.</summary>
    public ushort Submit(DriverQueue queue, EventFd kick, byte fill)
    {
        ulong input = Memory.Alloc(8);
        Memory.Fill(input, 8, fill);
        ulong output = Memory.Alloc(8);
        ushort head = queue.AddChain(DriverBuffer.DeviceReadable(input, 8), DriverBuffer.DeviceWritable(output, 8));
        kick.Signal();
        return head;
    }

    /// <summary>Sends a hand-made message and returns the reply, if one comes within <paramref name="timeoutMs"/>.</summary>
    public (VhostUserHeader Header, byte[] Payload)? SendRaw(uint request, uint flags, ReadOnlySpan<byte> payload, ReadOnlySpan<FileDescriptor> fds = default, int timeoutMs = 500)
    {
        Raw.Send(new VhostUserHeader(request, flags, (uint)payload.Length), payload, fds);
        return ReadReply(timeoutMs);
    }

    public (VhostUserHeader Header, byte[] Payload)? ReadReply(int timeoutMs = 500)
    {
        if (!_frontSocket.WaitReadable(timeoutMs))
        {
            return null;
        }

        byte[] buffer = new byte[MessageRules.MaxPayloadSize];
        List<FileDescriptor> fds = new();
        ReceiveResult result = Raw.TryReceive(out VhostUserHeader header, buffer, fds);
        foreach (FileDescriptor fd in fds)
        {
            fd.Dispose();
        }

        if (result.Status != ReceiveStatus.Message)
        {
            return null;
        }

        return (header, buffer.AsSpan(0, (int)header.PayloadSize).ToArray());
    }

    /// <summary>A request with <c>NEED_REPLY</c> and the acknowledgement it got (null: none).</summary>
    public ulong? SendWithAck(FrontendRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<FileDescriptor> fds = default)
    {
        var reply = SendRaw((uint)request, VhostUserHeader.Version1 | VhostUserHeader.NeedReplyFlag, payload, fds);
        if (reply is null)
        {
            return null;
        }

        Assert.That(reply.Value.Header.IsReply, Is.True);
        Assert.That(reply.Value.Header.Request, Is.EqualTo((uint)request));
        Assert.That(reply.Value.Payload, Has.Length.EqualTo(8));
        return BitConverter.ToUInt64(reply.Value.Payload);
    }

    /// <summary>Whether the connection still answers (a GET_FEATURES round trip).</summary>
    public bool StillServes()
    {
        var reply = SendRaw((uint)FrontendRequest.GetFeatures, VhostUserHeader.Version1, ReadOnlySpan<byte>.Empty);
        return reply is not null && reply.Value.Payload.Length == 8;
    }

    public void Dispose()
    {
        Frontend.Dispose();
        _frontSocket.Dispose();
        ConnectionClosed.Wait(TimeSpan.FromSeconds(10));
        _control.Join(TimeSpan.FromSeconds(10));
        Handler.Dispose();
        BackChannel.Dispose();
        foreach (EventFd fd in _eventFds)
        {
            fd.Dispose();
        }

        Memory.Dispose();
        LoggerFactory.Dispose();
        ConnectionClosed.Dispose();
    }
}

/// <summary>Collects log entries so tests can check what was reported.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    // Protects _entries: every back-end thread logs.
    private readonly object _lock = new();
    private readonly List<(LogLevel Level, int EventId, string Message)> _entries = new();

    public List<(LogLevel Level, int EventId, string Message)> Entries
    {
        get
        {
            lock (_lock)
            {
                return new(_entries);
            }
        }
    }

    public bool Has(int eventId) => Entries.Exists(e => e.EventId == eventId);

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private void Add(LogLevel level, int eventId, string message)
    {
        lock (_lock)
        {
            _entries.Add((level, eventId, message));
        }
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(logLevel, eventId.Id, formatter(state, exception));
    }
}
