// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using VirtioLoopback.Loopback;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>An in-memory control channel: records every ioctl, hands out a memfd as the pool.</summary>
internal sealed class FakeControl : ILoopbackControl, IDisposable
{
    internal const ulong DmaBase = 0x1_0000_0000;

    internal List<string> Calls { get; } = [];

    internal List<(uint Handle, ulong Seq, uint Status)> Done { get; } = [];

    internal List<(uint Offset, byte[] Data, bool Notify)> Configs { get; } = [];

    internal LoopbackCreate Created { get; private set; }

    internal byte[] InitialConfig { get; private set; } = [];

    internal FileDescriptor? Pool { get; private set; }

    internal Dictionary<uint, LoopbackQueueInfo> Queues { get; } = [];

    internal List<(uint Queue, bool Kick, bool Call)> QueueFds { get; } = [];

    public LoopbackApiInfo ApiInfo => new() { ApiVersion = 1, MaxQueues = 64, MaxQueueSize = 32768, EventSize = 128, MaxConfigSize = 256 };

    public FileDescriptor CreateDevice(ref LoopbackCreate request, ReadOnlySpan<byte> config)
    {
        Calls.Add("CREATE_DEVICE");
        InitialConfig = config.ToArray();
        request.ConfigSize = (uint)config.Length;
        request.Handle = 7;
        request.PoolDmaBase = DmaBase;
        Created = request;
        FileDescriptor fd = MemFd.Create("pool", (long)request.PoolSize);
        Pool = fd.Duplicate();
        return fd;
    }

    public void DestroyDevice(uint handle) => Calls.Add($"DESTROY_DEVICE {handle}");

    public void SetQueueFds(uint handle, uint queue, FileDescriptor? kick, FileDescriptor? call)
    {
        Calls.Add($"SET_QUEUE_FDS {queue}");
        QueueFds.Add((queue, kick is not null, call is not null));
    }

    public LoopbackQueueInfo GetQueueInfo(uint handle, uint queue)
    {
        Calls.Add($"GET_QUEUE_INFO {queue}");
        return Queues.TryGetValue(queue, out LoopbackQueueInfo info) ? info : default;
    }

    public void SetConfig(uint handle, uint offset, ReadOnlySpan<byte> data, bool notify)
    {
        Calls.Add("SET_CONFIG");
        Configs.Add((offset, data.ToArray(), notify));
    }

    /// <summary>Answers with ENOENT from now on: the module stopped waiting (timed out).</summary>
    internal bool EventDoneTimedOut { get; set; }

    public void EventDone(uint handle, ulong seq, uint status)
    {
        Calls.Add($"EVENT_DONE {seq}");
        if (EventDoneTimedOut)
        {
            throw new SysException("ioctl", 2);
        }

        Done.Add((handle, seq, status));
    }

    public void FailDevice(uint handle, uint status) => Calls.Add($"FAIL_DEVICE {handle} {status}");

    public void Dispose() => Pool?.Dispose();
}

/// <summary>A scripted back end: records the requests in vhost-user.rst's names.</summary>
internal sealed class FakeLink : IBackendLink
{
    internal ulong Features { get; set; } = (1UL << 32) | (1UL << 30) | (1UL << 29) | (1UL << 28);

    internal ProtocolFeatures Protocol { get; set; } =
        ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck | ProtocolFeatures.Config | ProtocolFeatures.BackendReq
        | ProtocolFeatures.ResetDevice | ProtocolFeatures.Status;

    internal ulong QueueNum { get; set; } = 1;

    internal byte[] ConfigSpace { get; set; } = new byte[136];

    internal List<string> Calls { get; } = [];

    internal ulong? SetFeaturesValue { get; private set; }

    internal ProtocolFeatures? SetProtocolValue { get; private set; }

    internal (MemoryRegion Region, FileDescriptor Fd)? MemTable { get; private set; }

    internal List<VringAddress> Addresses { get; } = [];

    internal Dictionary<uint, uint> Bases { get; } = [];

    internal bool Connected { get; set; } = true;

    internal bool FailGetVringBase { get; set; }

    /// <summary>Refuse SET_VRING_ERR as a back end without it would under REPLY_ACK.</summary>
    internal bool RefuseVringErr { get; set; }

    /// <summary>The largest SET_VRING_NUM accepted; larger ones are refused like a NACK under REPLY_ACK.</summary>
    internal uint MaxQueueSize { get; set; } = 32768;

    public event EventHandler? ConfigChanged;

    public bool IsConnected => Connected;

    internal void RaiseConfigChanged() => ConfigChanged?.Invoke(this, EventArgs.Empty);

    public ulong GetFeatures() => Record("GET_FEATURES", Features);

    public void SetFeatures(ulong features)
    {
        Calls.Add("SET_FEATURES");
        SetFeaturesValue = features;
    }

    public ProtocolFeatures GetProtocolFeatures() => Record("GET_PROTOCOL_FEATURES", Protocol);

    public void SetProtocolFeatures(ProtocolFeatures features)
    {
        Calls.Add("SET_PROTOCOL_FEATURES");
        SetProtocolValue = features;
    }

    public void SetOwner() => Calls.Add("SET_OWNER");

    public ulong GetQueueNum() => Record("GET_QUEUE_NUM", QueueNum);

    public void GetConfig(uint offset, Span<byte> destination)
    {
        Calls.Add($"GET_CONFIG {offset} {destination.Length}");
        ConfigSpace.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public void SetConfig(uint offset, ReadOnlySpan<byte> data)
    {
        Calls.Add($"SET_CONFIG {offset} {data.Length}");
        data.CopyTo(ConfigSpace.AsSpan((int)offset));
        ConfigSpace[0x80] = (byte)(data[0] + 1); // the "answer" the device computes
    }

    public void SetBackendReqFd() => Calls.Add("SET_BACKEND_REQ_FD");

    public void SetMemTable(MemoryRegion region, FileDescriptor fd)
    {
        Calls.Add("SET_MEM_TABLE");
        MemTable = (region, fd);
    }

    public void SetVringNum(uint index, uint num)
    {
        Calls.Add($"SET_VRING_NUM {index} {num}");
        if (num > MaxQueueSize)
        {
            throw new VhostUserException($"The back end rejected SET_VRING_NUM (acknowledgement 1).");
        }
    }

    public void SetVringAddr(VringAddress address)
    {
        Calls.Add($"SET_VRING_ADDR {address.Index}");
        Addresses.Add(address);
    }

    public void SetVringBase(uint index, uint num)
    {
        Calls.Add($"SET_VRING_BASE {index} {num}");
        Bases[index] = num;
    }

    public uint GetVringBase(uint index)
    {
        Calls.Add($"GET_VRING_BASE {index}");
        return FailGetVringBase ? throw new IOException("back end gone") : 0u;
    }

    public void SetVringCall(uint index, FileDescriptor fd) => Calls.Add($"SET_VRING_CALL {index}");

    public void SetVringKick(uint index, FileDescriptor fd) => Calls.Add($"SET_VRING_KICK {index}");

    public void SetVringErr(uint index, FileDescriptor fd)
    {
        Calls.Add($"SET_VRING_ERR {index}");
        if (RefuseVringErr)
        {
            throw new VhostUserException("rejected SET_VRING_ERR (acknowledgement 1)");
        }

        ErrFds[index] = fd;
    }

    /// <summary>The error eventfd each ring was given.</summary>
    internal Dictionary<uint, FileDescriptor> ErrFds { get; } = [];

    public void SetVringEnable(uint index, bool enable) => Calls.Add($"SET_VRING_ENABLE {index} {(enable ? 1 : 0)}");

    /// <summary>The inflight areas handed out; a reconnected back end must get the same fd back.</summary>
    internal List<InflightBuffer> InflightGiven { get; } = [];

    internal InflightBuffer? InflightReceived { get; private set; }

    public InflightBuffer GetInflightFd(ushort numQueues, ushort queueSize)
    {
        Calls.Add($"GET_INFLIGHT_FD {numQueues} {queueSize}");
        var buffer = new InflightBuffer(MemFd.Create("fake-inflight", 4096), 4096, 0);
        InflightGiven.Add(buffer);
        return buffer;
    }

    public void SetInflightFd(InflightBuffer buffer, ushort numQueues, ushort queueSize)
    {
        Calls.Add($"SET_INFLIGHT_FD {numQueues} {queueSize}");
        InflightReceived = buffer;
    }

    public void Dispose() => Calls.Add("CLOSE");

    private T Record<T>(string name, T value)
    {
        Calls.Add(name);
        return value;
    }
}
