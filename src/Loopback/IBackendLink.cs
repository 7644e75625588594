// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Loopback;

/// <summary>
/// The vhost-user requests a loopback device sends to its back end. <see cref="FrontendLink"/>
/// implements it over <c>VhostUserFrontend</c>; tests fake it.
/// </summary>
public interface IBackendLink : IDisposable
{
    /// <summary>Raised (on any thread) when the back end sends <c>CONFIG_CHANGE_MSG</c>.</summary>
    event EventHandler? ConfigChanged;

    /// <summary>Whether the connection is still usable.</summary>
    bool IsConnected { get; }

    /// <summary><c>GET_FEATURES</c>.</summary>
    ulong GetFeatures();

    /// <summary><c>SET_FEATURES</c>.</summary>
    void SetFeatures(ulong features);

    /// <summary><c>GET_PROTOCOL_FEATURES</c>.</summary>
    ProtocolFeatures GetProtocolFeatures();

    /// <summary><c>SET_PROTOCOL_FEATURES</c>.</summary>
    void SetProtocolFeatures(ProtocolFeatures features);

    /// <summary><c>SET_OWNER</c>.</summary>
    void SetOwner();

    /// <summary><c>GET_QUEUE_NUM</c>.</summary>
    ulong GetQueueNum();

    /// <summary><c>GET_CONFIG</c> of <c>destination.Length</c> bytes at <paramref name="offset"/>.</summary>
    void GetConfig(uint offset, Span<byte> destination);

    /// <summary><c>SET_CONFIG</c>.</summary>
    void SetConfig(uint offset, ReadOnlySpan<byte> data);

    /// <summary><c>SET_BACKEND_REQ_FD</c>: opens the channel that carries <see cref="ConfigChanged"/>.</summary>
    void SetBackendReqFd();

    /// <summary><c>SET_MEM_TABLE</c> with one region.</summary>
    void SetMemTable(MemoryRegion region, FileDescriptor fd);

    /// <summary><c>SET_VRING_NUM</c>.</summary>
    void SetVringNum(uint index, uint num);

    /// <summary><c>SET_VRING_ADDR</c>.</summary>
    void SetVringAddr(VringAddress address);

    /// <summary><c>SET_VRING_BASE</c>.</summary>
    void SetVringBase(uint index, uint num);

    /// <summary><c>GET_VRING_BASE</c> (stops the ring).</summary>
    uint GetVringBase(uint index);

    /// <summary><c>SET_VRING_CALL</c>.</summary>
    void SetVringCall(uint index, FileDescriptor fd);

    /// <summary><c>SET_VRING_KICK</c>.</summary>
    void SetVringKick(uint index, FileDescriptor fd);

    /// <summary><c>SET_VRING_ERR</c>: the eventfd the back end signals when it finds the ring broken.</summary>
    void SetVringErr(uint index, FileDescriptor fd);

    /// <summary><c>SET_VRING_ENABLE</c>.</summary>
    void SetVringEnable(uint index, bool enable);

    /// <summary><c>GET_INFLIGHT_FD</c>: the back end's area that survives it (the caller owns the fd).</summary>
    InflightBuffer GetInflightFd(ushort numQueues, ushort queueSize);

    /// <summary><c>SET_INFLIGHT_FD</c>: hands the area back after a reconnection.</summary>
    void SetInflightFd(InflightBuffer buffer, ushort numQueues, ushort queueSize);
}
