// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>
/// An echo device for the back-end tests: every chain's readable bytes are copied into its
/// writable buffers. It can hold chains instead of completing them (requests in flight at a
/// crash), throw from Process, and it records what the back end asked of it.
/// </summary>
internal sealed class FakeDevice : IVirtioDevice
{
    public const ulong FeatureBit0 = 1UL << 0;
    public const ulong FeatureBit5 = 1UL << 5;

    // Protects every recorded list and counter below: the back end calls from worker threads and
    // the control thread while the test thread reads.
    private readonly object _lock = new();
    private readonly byte[] _config;
    private readonly Dictionary<int, DescriptorChain> _chains = new();
    private readonly List<(int Queue, ushort Head)> _popped = new();
    private readonly List<(int Queue, ushort Head)> _held = new();
    private readonly Dictionary<(int Queue, ushort Head), GuestMemoryMap> _leases = new();
    private readonly List<string> _calls = new();

    public FakeDevice(int configSize = 16)
    {
        _config = new byte[configSize];
        for (int i = 0; i < _config.Length; i++)
        {
            _config[i] = (byte)(0xa0 + i);
        }
    }

    public uint DeviceId => 42;

    public ulong DeviceFeatures { get; set; } = VirtioFeatures.Version1 | FeatureBit0 | FeatureBit5;

    public ProtocolFeatures ProtocolFeatures { get; set; } = ProtocolFeatures.InflightShmfd;

    public int QueueCount { get; set; } = 2;

    public ushort MaxQueueSize { get; set; } = 256;

    public int ConfigSize => _config.Length;

    public IDeviceHost? Host { get; private set; }

    /// <summary>Pop chains but do not complete them (they stay in flight).</summary>
    public bool Hold { get; set; }

    /// <summary>Held chains keep a lease on the memory map they were popped with, as a device with I/O in flight does.</summary>
    public bool LeaseHeld { get; set; }

    /// <summary>Complete every chain with 0 bytes written and no copying (the allocation test).</summary>
    public bool Minimal { get; set; }

    /// <summary>Bytes the worker thread allocated between the first and the latest Process call.</summary>
    public long AllocatedSinceFirstProcess { get; private set; }

    private long _firstProcessAllocated = -1;

    /// <summary>Throw from Process on this queue.</summary>
    public int ThrowOnQueue { get; set; } = -1;

    /// <summary>Refuse config writes.</summary>
    public bool RefuseConfigWrites { get; set; }

    public ulong? AckedFeatures { get; private set; }

    public int ResetCount { get; private set; }

    public int ProcessCount { get; private set; }

    public List<(int Queue, ulong Token)> Events { get; } = new();

    /// <summary>Fds to register on each queue's worker at Start (token = queue index + 100).</summary>
    public Dictionary<int, EventFd> StartFds { get; } = new();

    public Dictionary<int, IVirtqueue> Vrings { get; } = new();

    public List<string> Calls
    {
        get
        {
            lock (_lock)
            {
                return new List<string>(_calls);
            }
        }
    }

    public List<(int Queue, ushort Head)> Popped
    {
        get
        {
            lock (_lock)
            {
                return new List<(int, ushort)>(_popped);
            }
        }
    }

    public byte[] Config
    {
        get
        {
            lock (_lock)
            {
                return (byte[])_config.Clone();
            }
        }
    }

    public int CountCalls(string name)
    {
        lock (_lock)
        {
            return _calls.FindAll(c => c == name).Count;
        }
    }

    public void Attach(IDeviceHost host) => Host = host;

    public void ReadConfig(int offset, Span<byte> destination)
    {
        lock (_lock)
        {
            _config.AsSpan(offset, destination.Length).CopyTo(destination);
        }
    }

    public bool WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (RefuseConfigWrites)
            {
                return false;
            }

            data.CopyTo(_config.AsSpan(offset));
            return true;
        }
    }

    public void OnFeaturesAcked(ulong features)
    {
        lock (_lock)
        {
            AckedFeatures = features;
            _calls.Add("features");
        }
    }

    public void Start(IVirtqueue vring)
    {
        lock (_lock)
        {
            _chains[vring.Index] = vring.CreateChain();
            Vrings[vring.Index] = vring;
            _calls.Add($"start{vring.Index}");
        }

        if (StartFds.TryGetValue(vring.Index, out EventFd? fd))
        {
            vring.Events.Add(fd.Handle, (ulong)vring.Index + 100);
        }
    }

    public void Process(IVirtqueue vring)
    {
        if (Minimal)
        {
            ProcessMinimal(vring);
            return;
        }

        DescriptorChain chain;
        lock (_lock)
        {
            ProcessCount++;
            chain = _chains[vring.Index];
        }

        if (vring.Index == ThrowOnQueue)
        {
            throw new InvalidOperationException("device failure for the test");
        }

        while (vring.TryPop(chain) == PopResult.Popped)
        {
            lock (_lock)
            {
                _popped.Add((vring.Index, chain.Head));
                if (Hold)
                {
                    _held.Add((vring.Index, chain.Head));
                    if (LeaseHeld)
                    {
                        GuestMemoryMap map = vring.Memory;
                        map.AddLease();
                        _leases[(vring.Index, chain.Head)] = map;
                    }

                    continue;
                }
            }

            uint written = Echo(vring, chain);
            vring.PushUsed(chain.Head, written);
        }

        vring.NotifyIfNeeded();
    }

    /// <summary>Completes the held chains of <paramref name="queue"/> (on its thread).</summary>
    public void CompleteHeld(int queue, ushort head, uint written)
    {
        IVirtqueue vring = Vrings[queue];
        ((Vring)vring).Loop!.Invoke(() =>
        {
            GuestMemoryMap? leased;
            lock (_lock)
            {
                _held.Remove((queue, head));
                _leases.Remove((queue, head), out leased);
            }

            vring.PushUsed(head, written);
            vring.NotifyIfNeeded();
            leased?.ReleaseLease();
        });
    }

    public void OnEvent(IVirtqueue vring, ulong token)
    {
        if (StartFds.TryGetValue(vring.Index, out EventFd? fd))
        {
            fd.TryRead(out _);
        }

        lock (_lock)
        {
            Events.Add((vring.Index, token));
        }
    }

    public void Stop(IVirtqueue vring)
    {
        if (StartFds.TryGetValue(vring.Index, out EventFd? fd))
        {
            vring.Events.Remove(fd.Handle);
        }

        List<GuestMemoryMap> leases = new();
        lock (_lock)
        {
            _calls.Add($"stop{vring.Index}");

            // A stopping device gives its memory back: the held chains stay in flight (the inflight
            // area knows them), but nothing here touches their buffers any more.
            foreach (var pair in new List<KeyValuePair<(int Queue, ushort Head), GuestMemoryMap>>(_leases))
            {
                if (pair.Key.Queue == vring.Index)
                {
                    leases.Add(pair.Value);
                    _leases.Remove(pair.Key);
                }
            }
        }

        foreach (GuestMemoryMap map in leases)
        {
            map.ReleaseLease();
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            ResetCount++;
            _held.Clear();
            _calls.Add("reset");
        }
    }

    private void ProcessMinimal(IVirtqueue vring)
    {
        long now = GC.GetAllocatedBytesForCurrentThread();
        if (_firstProcessAllocated < 0)
        {
            _firstProcessAllocated = now;
        }

        AllocatedSinceFirstProcess = now - _firstProcessAllocated;
        DescriptorChain chain = _chains[vring.Index];
        while (vring.TryPop(chain) == PopResult.Popped)
        {
            vring.PushUsed(chain.Head, 0);
        }

        vring.NotifyIfNeeded();
        ProcessCount++;
    }

    private static uint Echo(IVirtqueue vring, DescriptorChain chain)
    {
        byte[] data = new byte[chain.ReadableLength];
        int at = 0;
        foreach (Descriptor d in chain.Readable)
        {
            vring.Memory.TryGetSpan(d.Address, d.Length, out Span<byte> span);
            span.CopyTo(data.AsSpan(at));
            at += span.Length;
        }

        uint written = 0;
        foreach (Descriptor d in chain.Writable)
        {
            int n = (int)Math.Min(d.Length, (uint)(data.Length - (int)written));
            vring.Memory.TryGetSpan(d.Address, (uint)n, out Span<byte> span);
            data.AsSpan((int)written, n).CopyTo(span);
            written += (uint)n;
        }

        return written;
    }
}
