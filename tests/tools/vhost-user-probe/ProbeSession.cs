// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tools.Probe;

/// <summary>One virtqueue the probe drives: the driver-side ring plus its kick and call eventfds.</summary>
internal sealed class ProbeQueue : IDisposable
{
    public ProbeQueue(uint index, DriverQueue ring)
    {
        Index = index;
        Ring = ring;
        Kick = EventFd.Create();
        Call = EventFd.Create();
    }

    public uint Index { get; }

    public DriverQueue Ring { get; }

    public EventFd Kick { get; }

    public EventFd Call { get; }

    /// <summary>Kicks the back end (always: the probe does not negotiate EVENT_IDX, so this is cheap and safe).</summary>
    public void Notify() => Kick.Signal();

    public void Dispose()
    {
        Kick.Dispose();
        Call.Dispose();
    }
}

/// <summary>
/// A vhost-user session the way QEMU's front end opens one: GET_FEATURES, GET/SET_PROTOCOL_FEATURES
/// (CONFIG, MQ and REPLY_ACK when offered), GET_QUEUE_NUM, SET_OWNER; then, for data commands,
/// SET_FEATURES, SET_MEM_TABLE (one memfd region from <see cref="TestGuestMemory"/>) and per queue
/// SET_VRING_NUM/BASE/ADDR/CALL/KICK followed by SET_VRING_ENABLE.
/// </summary>
internal sealed class ProbeSession : IDisposable
{
    /// <summary>VIRTIO_F_VERSION_1.</summary>
    public const ulong Version1 = 1UL << 32;

    private const ProtocolFeatures Wanted = ProtocolFeatures.Config | ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck;

    private readonly List<ProbeQueue> _queues = [];
    private readonly Epoll _epoll;
    private TestGuestMemory? _memory;

    private ProbeSession(VhostUserFrontend frontend)
    {
        Frontend = frontend;
        _epoll = Epoll.Create();
    }

    public VhostUserFrontend Frontend { get; }

    /// <summary>What GET_FEATURES offered.</summary>
    public ulong OfferedFeatures { get; private set; }

    /// <summary>What GET_PROTOCOL_FEATURES offered (zero without VHOST_USER_F_PROTOCOL_FEATURES).</summary>
    public ProtocolFeatures OfferedProtocolFeatures { get; private set; }

    /// <summary>GET_QUEUE_NUM, or 0 when MQ is not offered.</summary>
    public ulong QueueNum { get; private set; }

    /// <summary>Whether VHOST_USER_F_PROTOCOL_FEATURES was offered (rings then start disabled).</summary>
    public bool HasProtocolFeatures => (OfferedFeatures & ProtocolFeatureBits.VhostUserFProtocolFeatures) != 0;

    public TestGuestMemory Memory => _memory ?? throw new InvalidOperationException("Start first.");

    public static ProbeSession Open(string socketPath, TimeSpan connectTimeout)
    {
        VhostUserFrontend frontend = VhostUserFrontend.Connect(socketPath, connectTimeout);
        var session = new ProbeSession(frontend);
        try
        {
            session.Negotiate();
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Sets features (VERSION_1, <paramref name="extraFeatures"/> as offered), memory and the given queues.</summary>
    public IReadOnlyList<ProbeQueue> Start(ulong extraFeatures, ushort queueSize, params uint[] queueIndexes)
    {
        if ((OfferedFeatures & Version1) == 0)
        {
            throw new ProbeException($"the back end does not offer VIRTIO_F_VERSION_1 (features 0x{OfferedFeatures:x})");
        }

        ulong features = Version1 | (extraFeatures & OfferedFeatures) | (OfferedFeatures & ProtocolFeatureBits.VhostUserFProtocolFeatures);
        Frontend.SetFeatures(features);

        _memory = new TestGuestMemory();
        Frontend.SetMemTable([(new MemoryRegion(_memory.Gpa, _memory.Size, _memory.UserAddr, _memory.MmapOffset), _memory.Fd)]);

        foreach (uint index in queueIndexes)
        {
            var queue = new ProbeQueue(index, new DriverQueue(_memory, queueSize));
            _queues.Add(queue);
            _epoll.Add(queue.Call.Handle, EpollEvents.In, index);
            Frontend.SetVringNum(index, queueSize);
            Frontend.SetVringBase(index, 0);
            Frontend.SetVringAddr(new VringAddress(index, 0, queue.Ring.DescTableUserAddr, queue.Ring.UsedRingUserAddr, queue.Ring.AvailRingUserAddr, 0));
            Frontend.SetVringCall(index, queue.Call.Handle);
            Frontend.SetVringKick(index, queue.Kick.Handle);
        }

        if (HasProtocolFeatures)
        {
            foreach (uint index in queueIndexes)
            {
                Frontend.SetVringEnable(index, true);
            }
        }

        return _queues;
    }

    /// <summary>
    /// Waits until <paramref name="queue"/> has a used element or <paramref name="deadline"/> passes
    /// (re-arming interrupts first, like Linux's <c>virtqueue_enable_cb</c>).
    /// </summary>
    public bool WaitUsed(ProbeQueue queue, Stopwatch clock, long deadlineMs)
    {
        Span<EpollEvent> ready = stackalloc EpollEvent[4];
        while (true)
        {
            if (queue.Ring.EnableInterrupts())
            {
                return true;
            }

            long left = deadlineMs - clock.ElapsedMilliseconds;
            if (left <= 0)
            {
                return false;
            }

            int n = _epoll.Wait(ready, (int)Math.Min(left, 200));
            for (int i = 0; i < n; i++)
            {
                foreach (ProbeQueue q in _queues)
                {
                    if (q.Index == ready[i].Token)
                    {
                        q.Call.TryRead(out _);
                    }
                }
            }

            if (!Frontend.IsConnected)
            {
                throw new ProbeException("the back end closed the connection");
            }
        }
    }

    /// <summary>GET_VRING_BASE on every started queue (what QEMU does when the device stops); returns "index=base" pairs.</summary>
    public string Stop()
    {
        List<string> bases = [];
        foreach (ProbeQueue q in _queues)
        {
            bases.Add($"{q.Index}={Frontend.GetVringBase(q.Index)}");
        }

        return string.Join(' ', bases);
    }

    public void Dispose()
    {
        Frontend.Dispose();
        foreach (ProbeQueue q in _queues)
        {
            q.Dispose();
        }

        _epoll.Dispose();
        _memory?.Dispose();
    }

    private void Negotiate()
    {
        OfferedFeatures = Frontend.GetFeatures();
        if (HasProtocolFeatures)
        {
            OfferedProtocolFeatures = Frontend.GetProtocolFeatures();
            Frontend.SetProtocolFeatures(OfferedProtocolFeatures & Wanted);
            if ((OfferedProtocolFeatures & ProtocolFeatures.Mq) != 0)
            {
                QueueNum = Frontend.GetQueueNum();
            }
        }

        Frontend.SetOwner();
    }
}

/// <summary>A check that failed; printed as one line, exit status 1.</summary>
internal sealed class ProbeException : Exception
{
    public ProbeException()
    {
    }

    public ProbeException(string message)
        : base(message)
    {
    }

    public ProbeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
