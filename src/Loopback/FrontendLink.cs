// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Loopback;

/// <summary><see cref="IBackendLink"/> over a <see cref="VhostUserFrontend"/> connection.</summary>
public sealed class FrontendLink : IBackendLink
{
    private readonly VhostUserFrontend _frontend;

    /// <summary>Wraps a connected front end (owned from now on).</summary>
    public FrontendLink(VhostUserFrontend frontend)
    {
        _frontend = frontend ?? throw new ArgumentNullException(nameof(frontend));
        _frontend.ConfigChanged += (_, e) => ConfigChanged?.Invoke(this, e);
    }

    /// <inheritdoc/>
    public event EventHandler? ConfigChanged;

    /// <inheritdoc/>
    public bool IsConnected => _frontend.IsConnected;

    /// <summary>Connects to the back end at <paramref name="socketPath"/>, retrying for up to <paramref name="timeout"/>.</summary>
    public static FrontendLink Connect(string socketPath, TimeSpan timeout, ILogger? logger = null) =>
        new(VhostUserFrontend.Connect(socketPath, timeout, logger));

    /// <inheritdoc/>
    public ulong GetFeatures() => _frontend.GetFeatures();

    /// <inheritdoc/>
    public void SetFeatures(ulong features) => _frontend.SetFeatures(features);

    /// <inheritdoc/>
    public ProtocolFeatures GetProtocolFeatures() => _frontend.GetProtocolFeatures();

    /// <inheritdoc/>
    public void SetProtocolFeatures(ProtocolFeatures features) => _frontend.SetProtocolFeatures(features);

    /// <inheritdoc/>
    public void SetOwner() => _frontend.SetOwner();

    /// <inheritdoc/>
    public ulong GetQueueNum() => _frontend.GetQueueNum();

    /// <inheritdoc/>
    public void GetConfig(uint offset, Span<byte> destination) => _frontend.GetConfig(offset, destination);

    /// <inheritdoc/>
    public void SetConfig(uint offset, ReadOnlySpan<byte> data) => _frontend.SetConfig(offset, data);

    /// <inheritdoc/>
    public void SetBackendReqFd() => _frontend.SetBackendReqFd();

    /// <inheritdoc/>
    public void SetMemTable(MemoryRegion region, FileDescriptor fd) => _frontend.SetMemTable([(region, fd)]);

    /// <inheritdoc/>
    public void SetVringNum(uint index, uint num) => _frontend.SetVringNum(index, num);

    /// <inheritdoc/>
    public void SetVringAddr(VringAddress address) => _frontend.SetVringAddr(address);

    /// <inheritdoc/>
    public void SetVringBase(uint index, uint num) => _frontend.SetVringBase(index, num);

    /// <inheritdoc/>
    public uint GetVringBase(uint index) => _frontend.GetVringBase(index);

    /// <inheritdoc/>
    public void SetVringCall(uint index, FileDescriptor fd) => _frontend.SetVringCall(index, fd);

    /// <inheritdoc/>
    public void SetVringKick(uint index, FileDescriptor fd) => _frontend.SetVringKick(index, fd);

    /// <inheritdoc/>
    public void SetVringErr(uint index, FileDescriptor fd) => _frontend.SetVringErr(index, fd);

    /// <inheritdoc/>
    public void SetVringEnable(uint index, bool enable) => _frontend.SetVringEnable(index, enable);

    /// <inheritdoc/>
    public InflightBuffer GetInflightFd(ushort numQueues, ushort queueSize) => _frontend.GetInflightFd(numQueues, queueSize);

    /// <inheritdoc/>
    public void SetInflightFd(InflightBuffer buffer, ushort numQueues, ushort queueSize) =>
        _frontend.SetInflightFd(buffer.Fd, buffer.MmapSize, buffer.MmapOffset, numQueues, queueSize);

    /// <inheritdoc/>
    public void Dispose() => _frontend.Dispose();
}
