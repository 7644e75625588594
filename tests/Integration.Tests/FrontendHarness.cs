// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>How <see cref="FrontendHarness"/> sets a session up.</summary>
internal sealed record HarnessOptions
{
    /// <summary>The size of every ring.</summary>
    public ushort QueueSize { get; init; } = 128;

    /// <summary>How many rings to start; null: what <c>GET_QUEUE_NUM</c> says.</summary>
    public int? QueueCount { get; init; }

    /// <summary>The size of the shared guest memory (a sparse memfd).</summary>
    public ulong MemorySize { get; init; } = 32 << 20;

    /// <summary>Which of the offered virtio features to accept; null accepts all of them.</summary>
    public Func<ulong, ulong>? SelectFeatures { get; init; }

    /// <summary>The protocol features to accept when offered.</summary>
    public ProtocolFeatures WantedProtocolFeatures { get; init; } =
        ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck | ProtocolFeatures.Config | ProtocolFeatures.BackendReq
        | ProtocolFeatures.ResetDevice;

    /// <summary>Whether to set up inflight tracking (<c>GET_INFLIGHT_FD</c>/<c>SET_INFLIGHT_FD</c>) like QEMU's vhost-user-blk.</summary>
    public bool UseInflight { get; init; }

    /// <summary>Kick after every submission instead of honouring the device's notification suppression.</summary>
    public bool AlwaysKick { get; init; }

    /// <summary>How long to wait for a used element.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>One ring as the test driver sees it: the driver-side ring plus its kick and call eventfds.</summary>
internal sealed class HarnessQueue : IDisposable
{
    public HarnessQueue(int index, TestGuestMemory memory, ushort size)
    {
        Index = index;
        Driver = new DriverQueue(memory, size);
        Kick = EventFd.Create();
        Call = EventFd.Create();
        CallEpoll = Epoll.Create();
        CallEpoll.Add(Call.Handle, EpollEvents.In, (ulong)index);
    }

    public int Index { get; }

    public DriverQueue Driver { get; }

    public EventFd Kick { get; }

    public EventFd Call { get; }

    public Epoll CallEpoll { get; }

    /// <summary>Call notifications seen so far.</summary>
    public long Notifications { get; set; }

    public void Dispose()
    {
        CallEpoll.Dispose();
        Kick.Dispose();
        Call.Dispose();
    }
}

/// <summary>
/// The integration-test front end: starts (or attaches to) a back end, connects with
/// <see cref="VhostUserFrontend"/>, negotiates the way QEMU does and starts the rings in shared
/// memfd memory; then submits chains with <see cref="DriverQueue"/> and waits for used elements on
/// the call eventfds.
/// </summary>
/// <remarks>
/// The session setup, in order: <c>GET_FEATURES</c>, <c>GET_PROTOCOL_FEATURES</c>,
/// <c>SET_PROTOCOL_FEATURES</c>, <c>SET_OWNER</c>, <c>GET_QUEUE_NUM</c>, <c>SET_BACKEND_REQ_FD</c>,
/// (<c>GET_INFLIGHT_FD</c> once, then <c>SET_INFLIGHT_FD</c>), <c>SET_FEATURES</c>,
/// <c>SET_MEM_TABLE</c>, and per ring <c>SET_VRING_NUM</c>, <c>SET_VRING_BASE</c>,
/// <c>SET_VRING_ADDR</c>, <c>SET_VRING_CALL</c>, <c>SET_VRING_KICK</c>; then
/// <c>SET_VRING_ENABLE 1</c> on every ring. The guest memory, rings and eventfds outlive a
/// connection, so a test can reconnect (or restart the back end) and carry on with the same rings.
/// </remarks>
internal sealed class FrontendHarness : IDisposable
{
    private readonly string? _tempDir;
    private readonly bool _ownsBackend;
    private readonly EpollEvent[] _events = new EpollEvent[1];
    private IBackend _backend;
    private VhostUserFrontend? _frontend;
    private HarnessQueue[]? _queues;
    private int _configChanges;

    private FrontendHarness(IBackend backend, HarnessOptions options, string? tempDir, bool ownsBackend)
    {
        _backend = backend;
        Options = options;
        _tempDir = tempDir;
        _ownsBackend = ownsBackend;
        Memory = new TestGuestMemory(options.MemorySize);
    }

    public HarnessOptions Options { get; }

    public IBackend Backend => _backend;

    public TestGuestMemory Memory { get; }

    /// <summary>The live connection.</summary>
    public VhostUserFrontend Frontend => _frontend ?? throw new InvalidOperationException("Not connected.");

    public IReadOnlyList<HarnessQueue> Queues => _queues ?? throw new InvalidOperationException("Not connected yet.");

    public ulong OfferedFeatures { get; private set; }

    public ulong AckedFeatures { get; private set; }

    public ProtocolFeatures OfferedProtocolFeatures { get; private set; }

    public ProtocolFeatures AckedProtocolFeatures { get; private set; }

    /// <summary>What <c>GET_QUEUE_NUM</c> answered (0 without MQ).</summary>
    public ulong QueueNum { get; private set; }

    /// <summary>The inflight area from the first <c>GET_INFLIGHT_FD</c>, kept across reconnects like QEMU does.</summary>
    public InflightBuffer? Inflight { get; private set; }

    /// <summary>How many <c>CONFIG_CHANGE_MSG</c>s arrived on the back-end channel.</summary>
    public int ConfigChanges => Volatile.Read(ref _configChanges);

    /// <summary>Starts <paramref name="program"/> as a process on a fresh socket and (by default) connects.</summary>
    public static FrontendHarness StartProcess(string program, string[] args, HarnessOptions? options = null, bool connect = true)
    {
        string dir = NewTempDir();
        ProcessBackend backend;
        try
        {
            backend = ProcessBackend.Start(program, Path.Combine(dir, "backend.sock"), args);
        }
        catch
        {
            Directory.Delete(dir, recursive: true);
            throw;
        }

        return Create(backend, options, dir, ownsBackend: true, connect);
    }

    /// <summary>Serves <paramref name="device"/> in this process on a fresh socket and (by default) connects.</summary>
    public static FrontendHarness StartInProcess(IVirtioDevice device, HarnessOptions? options = null, bool connect = true, ILoggerFactory? loggerFactory = null)
    {
        string dir = NewTempDir();
        InProcessBackend backend;
        try
        {
            backend = new InProcessBackend(device, Path.Combine(dir, "backend.sock"), loggerFactory);
        }
        catch
        {
            Directory.Delete(dir, recursive: true);
            throw;
        }

        return Create(backend, options, dir, ownsBackend: true, connect);
    }

    /// <summary>A new session against a back end someone else owns.</summary>
    public static FrontendHarness Attach(IBackend backend, HarnessOptions? options = null, bool connect = true) =>
        Create(backend, options, null, ownsBackend: false, connect);

    /// <summary>A fresh private directory for sockets and images.</summary>
    public static string NewTempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vl-it-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Connects and sets the session up. With <paramref name="resume"/> the rings keep their
    /// contents and each ring's base is its used idx (what QEMU does after a back-end crash, with the
    /// inflight area telling the back end what to resubmit); otherwise the rings start empty at 0.
    /// </summary>
    public void Connect(bool resume = false)
    {
        _frontend?.Dispose();
        _frontend = VhostUserFrontend.Connect(_backend.SocketPath, TimeSpan.FromSeconds(30));
        _frontend.ReplyTimeout = Options.Timeout;
        _frontend.ConfigChanged += (_, _) => Interlocked.Increment(ref _configChanges);
        Negotiate();
        StartRings(resume);
    }

    /// <summary>Closes the connection (the back end keeps listening).</summary>
    public void Disconnect()
    {
        _frontend?.Dispose();
        _frontend = null;
    }

    /// <summary>Swaps in a new back end on the same socket path (after a crash); the caller then calls <see cref="Connect"/>.</summary>
    public void ReplaceBackend(IBackend backend)
    {
        Disconnect();
        if (_ownsBackend)
        {
            _backend.Dispose();
        }

        _backend = backend;
    }

    /// <summary>The temporary directory this harness owns (null when attached).</summary>
    public string TempDir => _tempDir ?? throw new InvalidOperationException("An attached harness has no directory.");

    /// <summary>Reserves guest memory.</summary>
    public ulong Alloc(int size, ulong align = 16) => Memory.Alloc((ulong)size, align);

    /// <summary>Adds a direct chain to ring <paramref name="queue"/> and kicks if needed.</summary>
    public ushort Submit(int queue, params DriverBuffer[] buffers)
    {
        ushort head = Queues[queue].Driver.AddChain(buffers);
        Kick(queue);
        return head;
    }

    /// <summary>Adds an indirect chain to ring <paramref name="queue"/> and kicks if needed.</summary>
    public ushort SubmitIndirect(int queue, params DriverBuffer[] buffers)
    {
        ushort head = Queues[queue].Driver.AddIndirectChain(buffers);
        Kick(queue);
        return head;
    }

    /// <summary>Kicks ring <paramref name="queue"/> when the device asked for it (or always, per the options).</summary>
    public void Kick(int queue)
    {
        HarnessQueue q = Queues[queue];
        if (Options.AlwaysKick | q.Driver.KickNeeded())
        {
            q.Kick.Signal();
        }
    }

    /// <summary>Stops ring <paramref name="queue"/> the way QEMU does at VM stop: <c>SET_VRING_ENABLE 0</c>, then <c>GET_VRING_BASE</c>.</summary>
    /// <returns>The ring's next available index as the back end reports it.</returns>
    public uint StopRing(int queue)
    {
        if ((AckedFeatures & ProtocolFeatureBits.VhostUserFProtocolFeatures) != 0)
        {
            Frontend.SetVringEnable((uint)queue, false);
        }

        return Frontend.GetVringBase((uint)queue);
    }

    /// <summary>Starts a stopped ring again at <paramref name="base"/> (num, base, addr, call, kick, enable), keeping its contents.</summary>
    public void StartRing(int queue, uint @base)
    {
        HarnessQueue q = Queues[queue];
        DriverQueue d = q.Driver;
        uint index = (uint)queue;
        Frontend.SetVringNum(index, d.Size);
        Frontend.SetVringBase(index, @base);
        Frontend.SetVringAddr(new VringAddress(index, 0, d.DescTableUserAddr, d.UsedRingUserAddr, d.AvailRingUserAddr, 0));
        Frontend.SetVringCall(index, q.Call.Handle);
        Frontend.SetVringKick(index, q.Kick.Handle);
        if ((AckedFeatures & ProtocolFeatureBits.VhostUserFProtocolFeatures) != 0)
        {
            Frontend.SetVringEnable(index, true);
        }
    }

    /// <summary>Waits for the next used element of ring <paramref name="queue"/>.</summary>
    public (ushort Id, uint Length) WaitUsed(int queue) => WaitUsed(queue, 1)[0];

    /// <summary>
    /// Collects <paramref name="count"/> used elements of ring <paramref name="queue"/>, waiting on its
    /// call eventfd the way a driver does (re-enable interrupts, re-check, sleep). Fails the test on
    /// timeout, and separately when elements were published without a call notification.
    /// </summary>
    public List<(ushort Id, uint Length)> WaitUsed(int queue, int count, TimeSpan? timeout = null)
    {
        HarnessQueue q = Queues[queue];
        List<(ushort, uint)> used = new(count);
        Stopwatch clock = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? Options.Timeout;
        while (true)
        {
            while (used.Count < count && q.Driver.TryGetUsed(out ushort id, out uint length))
            {
                used.Add((id, length));
            }

            if (used.Count >= count)
            {
                return used;
            }

            if (q.Driver.EnableInterrupts())
            {
                continue;
            }

            int left = (int)(limit - clock.Elapsed).TotalMilliseconds;
            if (left > 0 && WaitCall(queue, left))
            {
                continue;
            }

            if (q.Driver.ReadUsedIdx() != q.Driver.LastUsedIdx && !WaitCall(queue, 1000))
            {
                Assert.Fail($"Ring {queue}: the device published used elements (used idx {q.Driver.ReadUsedIdx()}, driver at {q.Driver.LastUsedIdx}) without a call notification. {_backend.Describe()}");
            }
            else if (q.Driver.ReadUsedIdx() != q.Driver.LastUsedIdx)
            {
                continue;
            }

            Assert.Fail($"Ring {queue}: {used.Count} of {count} used elements after {limit.TotalSeconds} s (avail idx {q.Driver.AvailIdx}, used idx {q.Driver.ReadUsedIdx()}). {_backend.Describe()}");
        }
    }

    /// <summary>
    /// Waits until ring <paramref name="queue"/>'s thread has finished whatever it was doing: sends
    /// <c>SET_VRING_CALL</c> again with the same fd, which our back end applies on the ring's own
    /// thread between two callbacks, and waits for the acknowledgement.
    /// </summary>
    public void SyncRing(int queue)
    {
        Assert.That(AckedProtocolFeatures & ProtocolFeatures.ReplyAck, Is.Not.Zero, "a barrier needs REPLY_ACK");
        Frontend.SetVringCall((uint)queue, Queues[queue].Call.Handle);
    }

    /// <summary>
    /// Asserts that ring <paramref name="queue"/> has published nothing the driver has not taken,
    /// once the ring's thread finished what it was given (<see cref="SyncRing"/>): for a device that
    /// must not complete anything now (too few buffers, a stopped ring).
    /// </summary>
    public void AssertNoUsed(int queue)
    {
        SyncRing(queue);
        HarnessQueue q = Queues[queue];
        Assert.That(q.Driver.ReadUsedIdx(), Is.EqualTo(q.Driver.LastUsedIdx), $"ring {queue} got an unexpected used element");
    }

    /// <summary>
    /// Asserts that ring <paramref name="queue"/>, after everything the driver expects was collected,
    /// completes nothing more (no request twice): stops it (<c>GET_VRING_BASE</c> waits for every
    /// request in flight), checks the used idx and the base, and starts it again at that base.
    /// </summary>
    public void AssertNothingMoreUsed(int queue)
    {
        HarnessQueue q = Queues[queue];
        uint vringBase = StopRing(queue);
        Assert.That(q.Driver.ReadUsedIdx(), Is.EqualTo(q.Driver.LastUsedIdx), $"ring {queue} completed more than was submitted");
        Assert.That(vringBase, Is.EqualTo((uint)q.Driver.AvailIdx), $"ring {queue}'s base is not the driver's avail idx");
        StartRing(queue, vringBase);
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for a call notification on ring <paramref name="queue"/> and consumes it.</summary>
    public bool WaitCall(int queue, int milliseconds)
    {
        HarnessQueue q = Queues[queue];
        if (q.Call.TryRead(out _))
        {
            q.Notifications++;
            return true;
        }

        if (q.CallEpoll.Wait(_events, milliseconds) > 0 && q.Call.TryRead(out _))
        {
            q.Notifications++;
            return true;
        }

        return false;
    }

    public void Dispose()
    {
        try
        {
            _frontend?.Dispose();
            if (_ownsBackend)
            {
                _backend.Dispose();
            }
        }
        finally
        {
            if (_queues is not null)
            {
                foreach (HarnessQueue q in _queues)
                {
                    q.Dispose();
                }
            }

            Inflight?.Fd.Dispose();
            Memory.Dispose();
            if (_tempDir is not null)
            {
                try
                {
                    Directory.Delete(_tempDir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static FrontendHarness Create(IBackend backend, HarnessOptions? options, string? dir, bool ownsBackend, bool connect)
    {
        FrontendHarness harness = new(backend, options ?? new HarnessOptions(), dir, ownsBackend);
        if (connect)
        {
            try
            {
                harness.Connect();
            }
            catch
            {
                harness.Dispose();
                throw;
            }
        }

        return harness;
    }

    private void Negotiate()
    {
        VhostUserFrontend f = Frontend;
        OfferedFeatures = f.GetFeatures();
        if ((OfferedFeatures & ProtocolFeatureBits.VhostUserFProtocolFeatures) != 0)
        {
            OfferedProtocolFeatures = f.GetProtocolFeatures();
            ProtocolFeatures wanted = Options.WantedProtocolFeatures | (Options.UseInflight ? ProtocolFeatures.InflightShmfd : 0);
            AckedProtocolFeatures = OfferedProtocolFeatures & wanted;
            f.SetProtocolFeatures(AckedProtocolFeatures);
        }

        f.SetOwner();
        QueueNum = (AckedProtocolFeatures & ProtocolFeatures.Mq) != 0 ? f.GetQueueNum() : 0;
        if ((AckedProtocolFeatures & ProtocolFeatures.BackendReq) != 0)
        {
            f.SetBackendReqFd();
        }

        int queueCount = Options.QueueCount ?? (QueueNum > 0 ? (int)QueueNum : 1);
        if (_queues is null)
        {
            _queues = new HarnessQueue[queueCount];
            for (int i = 0; i < queueCount; i++)
            {
                _queues[i] = new HarnessQueue(i, Memory, Options.QueueSize);
            }
        }

        if (Options.UseInflight)
        {
            Assert.That(AckedProtocolFeatures & ProtocolFeatures.InflightShmfd, Is.Not.Zero, "the back end does not offer INFLIGHT_SHMFD");
            Inflight ??= f.GetInflightFd((ushort)_queues.Length, Options.QueueSize);
            InflightBuffer inflight = Inflight.Value;
            f.SetInflightFd(inflight.Fd, inflight.MmapSize, inflight.MmapOffset, (ushort)_queues.Length, Options.QueueSize);
        }

        AckedFeatures = Options.SelectFeatures?.Invoke(OfferedFeatures) ?? OfferedFeatures;
        f.SetFeatures(AckedFeatures);
        f.SetMemTable([(new MemoryRegion(Memory.Gpa, Memory.Size, Memory.UserAddr, Memory.MmapOffset), Memory.Fd)]);
    }

    private void StartRings(bool resume)
    {
        VhostUserFrontend f = Frontend;
        bool eventIdx = (AckedFeatures & VirtioBits.RingEventIdx) != 0;
        foreach (HarnessQueue q in Queues)
        {
            DriverQueue d = q.Driver;
            if (!resume)
            {
                d.Reset();
            }

            d.EventIdx = eventIdx;
            while (q.Call.TryRead(out _))
            {
            }

            uint index = (uint)q.Index;
            f.SetVringNum(index, d.Size);
            f.SetVringBase(index, resume ? d.ReadUsedIdx() : d.AvailIdx);
            f.SetVringAddr(new VringAddress(index, 0, d.DescTableUserAddr, d.UsedRingUserAddr, d.AvailRingUserAddr, 0));
            f.SetVringCall(index, q.Call.Handle);
            f.SetVringKick(index, q.Kick.Handle);
        }

        if ((AckedFeatures & ProtocolFeatureBits.VhostUserFProtocolFeatures) != 0)
        {
            foreach (HarnessQueue q in Queues)
            {
                f.SetVringEnable((uint)q.Index, true);
            }
        }
    }
}

/// <summary>Virtio feature bits as the tests read the spec (kept apart from the device code on purpose).</summary>
internal static class VirtioBits
{
    public const ulong NotifyOnEmpty = 1UL << 24;
    public const ulong RingIndirectDesc = 1UL << 28;
    public const ulong RingEventIdx = 1UL << 29;
    public const ulong ProtocolFeatures = 1UL << 30;
    public const ulong Version1 = 1UL << 32;
}
