// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.Linux;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Frontend;

/// <summary>
/// The front-end role of vhost-user: one method per request, enough to drive this project's back
/// ends and libvhost-user ones such as qemu-storage-daemon.
/// </summary>
/// <remarks>
/// <para>Requests are serialized by a lock, so several threads may call in. Once <c>REPLY_ACK</c> is
/// negotiated, every request without a reply body is sent with <c>NEED_REPLY</c> and a non-zero
/// acknowledgement throws <see cref="VhostUserException"/> (the connection stays usable).</para>
/// <para>A hang-up, a timeout or an unexpected reply ends the connection: that call and every later
/// one throw <see cref="VhostUserDisconnectedException"/>, and <see cref="IsConnected"/> turns false.</para>
/// </remarks>
public sealed class VhostUserFrontend : IDisposable
{
    private static readonly TimeSpan ConnectRetryInterval = TimeSpan.FromMilliseconds(50);

    private readonly VhostUserChannel _channel;
    private readonly ILogger _logger;

    // Guards the main channel: one request/reply exchange at a time, and the fields below.
    private readonly Lock _lock = new();
    private readonly byte[] _reply = new byte[MessageRules.MaxPayloadSize];
    private readonly List<FileDescriptor> _replyFds = new(UnixSocket.MaxFds);
    private ProtocolFeatures _protocolFeatures;
    private BackendChannelServer? _backendChannel;
    private volatile string? _failure;
    private int _disposed;

    /// <summary>Wraps a connected socket (a back end's socket, or one end of a socket pair in tests).</summary>
    /// <param name="socket">The connection; the front end owns it from now on.</param>
    /// <param name="logger">Where to log; nothing is logged if null.</param>
    public VhostUserFrontend(UnixSocket socket, ILogger? logger = null)
    {
        _channel = new VhostUserChannel(socket);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Raised on the back-end channel's thread when the back end sends <c>CONFIG_CHANGE_MSG</c>.</summary>
    public event EventHandler? ConfigChanged;

    /// <summary>Whether the connection is usable: no fatal error so far and the peer has not hung up.</summary>
    public bool IsConnected => _failure is null && Volatile.Read(ref _disposed) == 0 && !_channel.Socket.HasPeerHungUp();

    /// <summary>The protocol features set by the last <see cref="SetProtocolFeatures"/>.</summary>
    public ProtocolFeatures NegotiatedProtocolFeatures
    {
        get
        {
            lock (_lock)
            {
                return _protocolFeatures;
            }
        }
    }

    /// <summary>
    /// How long to wait for a reply before giving up on the back end (and closing the connection,
    /// since a late reply would be taken for the next one). <see cref="Timeout.InfiniteTimeSpan"/> waits forever.
    /// </summary>
    public TimeSpan ReplyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Connects to the back end listening at <paramref name="socketPath"/>, retrying while the socket
    /// does not exist yet or nobody accepts, for up to <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">No back end accepted within <paramref name="timeout"/>.</exception>
    public static VhostUserFrontend Connect(string socketPath, TimeSpan timeout, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                UnixSocket socket = UnixSocket.Connect(socketPath);
                var frontend = new VhostUserFrontend(socket, logger);
                Log.Connected(frontend._logger, socketPath);
                return frontend;
            }
            catch (SysException e) when (e.Errno == LibC.ENOENT || e.Errno == LibC.ECONNREFUSED)
            {
                TimeSpan left = timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"No vhost-user back end accepted at '{socketPath}' within {timeout}: {e.Message}", e);
                }

                Thread.Sleep(left < ConnectRetryInterval ? left : ConnectRetryInterval);
            }
        }
    }

    /// <summary>The spec's name of <paramref name="request"/> (for example <c>GET_FEATURES</c>), for logs.</summary>
    public static string Describe(FrontendRequest request) => RequestNames.Describe(request);

    /// <summary><c>GET_FEATURES</c>: the virtio features the back end offers.</summary>
    public ulong GetFeatures() => RequestU64(FrontendRequest.GetFeatures);

    /// <summary><c>SET_FEATURES</c>: the features the driver accepted.</summary>
    public void SetFeatures(ulong features) => RequestWithU64(FrontendRequest.SetFeatures, features);

    /// <summary><c>GET_PROTOCOL_FEATURES</c> (only if <c>VHOST_USER_F_PROTOCOL_FEATURES</c> was offered).</summary>
    public ProtocolFeatures GetProtocolFeatures() => (ProtocolFeatures)RequestU64(FrontendRequest.GetProtocolFeatures);

    /// <summary>
    /// <c>SET_PROTOCOL_FEATURES</c>. Sent without <c>NEED_REPLY</c> (the acknowledgement scheme is
    /// what is being negotiated); afterwards <c>REPLY_ACK</c> applies if it is in <paramref name="features"/>.
    /// </summary>
    public void SetProtocolFeatures(ProtocolFeatures features)
    {
        Span<byte> body = stackalloc byte[U64Payload.Size];
        new U64Payload((ulong)features).Write(body);
        lock (_lock)
        {
            Exchange(FrontendRequest.SetProtocolFeatures, body, default, allowAck: false, Span<byte>.Empty, 0);
            _protocolFeatures = features;
        }
    }

    /// <summary><c>SET_OWNER</c>: start of the session.</summary>
    public void SetOwner() => Request(FrontendRequest.SetOwner, ReadOnlySpan<byte>.Empty, default);

    /// <summary><c>RESET_OWNER</c> (deprecated by the spec; kept for old back ends).</summary>
    public void ResetOwner() => Request(FrontendRequest.ResetOwner, ReadOnlySpan<byte>.Empty, default);

    /// <summary><c>GET_QUEUE_NUM</c>: the most queues the back end supports (needs <c>MQ</c>).</summary>
    public ulong GetQueueNum() => RequestU64(FrontendRequest.GetQueueNum);

    /// <summary><c>GET_MAX_MEM_SLOTS</c> (needs <c>CONFIGURE_MEM_SLOTS</c>).</summary>
    public ulong GetMaxMemSlots() => RequestU64(FrontendRequest.GetMaxMemSlots);

    /// <summary><c>SET_MEM_TABLE</c>: the whole memory map, one fd per region (at most 8).</summary>
    public void SetMemTable(IReadOnlyList<(MemoryRegion Region, FileDescriptor Fd)> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        if (regions.Count > MemoryTable.MaxRegions)
        {
            throw new ArgumentException($"At most {MemoryTable.MaxRegions} regions per table.", nameof(regions));
        }

        Span<MemoryRegion> table = stackalloc MemoryRegion[MemoryTable.MaxRegions];
        FdArray fds = default;
        for (int i = 0; i < regions.Count; i++)
        {
            table[i] = regions[i].Region;
            fds[i] = regions[i].Fd ?? throw new ArgumentException("Every region needs an fd.", nameof(regions));
        }

        Span<byte> body = stackalloc byte[MemoryTable.MaxSize];
        int size = new MemoryTable(table[..regions.Count]).Write(body);
        Request(FrontendRequest.SetMemTable, body[..size], ((ReadOnlySpan<FileDescriptor>)fds)[..regions.Count]);
    }

    /// <summary><c>ADD_MEM_REG</c>: one more region (needs <c>CONFIGURE_MEM_SLOTS</c>).</summary>
    public void AddMemReg(MemoryRegion region, FileDescriptor fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        Span<byte> body = stackalloc byte[SingleMemoryRegion.Size];
        new SingleMemoryRegion(region).Write(body);
        Request(FrontendRequest.AddMemReg, body, new ReadOnlySpan<FileDescriptor>(in fd));
    }

    /// <summary><c>REM_MEM_REG</c>: drop a region (identified by guest address, user address and size).</summary>
    public void RemMemReg(MemoryRegion region)
    {
        Span<byte> body = stackalloc byte[SingleMemoryRegion.Size];
        new SingleMemoryRegion(region).Write(body);
        Request(FrontendRequest.RemMemReg, body, default);
    }

    /// <summary><c>SET_VRING_NUM</c>: the size of ring <paramref name="index"/>.</summary>
    public void SetVringNum(uint index, uint num) => RequestWithState(FrontendRequest.SetVringNum, index, num);

    /// <summary><c>SET_VRING_ADDR</c>: the ring's addresses in this process.</summary>
    public void SetVringAddr(VringAddress address)
    {
        Span<byte> body = stackalloc byte[VringAddress.Size];
        address.Write(body);
        Request(FrontendRequest.SetVringAddr, body, default);
    }

    /// <summary><c>SET_VRING_BASE</c>: the next available index the back end should process.</summary>
    public void SetVringBase(uint index, uint num) => RequestWithState(FrontendRequest.SetVringBase, index, num);

    /// <summary><c>GET_VRING_BASE</c>: stops ring <paramref name="index"/> and returns its next available index.</summary>
    public uint GetVringBase(uint index)
    {
        Span<byte> body = stackalloc byte[VringState.Size];
        new VringState(index, 0).Write(body);
        Span<byte> reply = stackalloc byte[VringState.Size];
        lock (_lock)
        {
            Exchange(FrontendRequest.GetVringBase, body, default, allowAck: false, reply, VringState.Size);
            VringState state = VringState.Read(reply);
            return state.Index == index
                ? state.Num
                : throw Fail($"GET_VRING_BASE for ring {index} was answered for ring {state.Index}.");
        }
    }

    /// <summary><c>SET_VRING_KICK</c>: the kick eventfd of ring <paramref name="index"/>; null sends the no-fd flag (poll).</summary>
    public void SetVringKick(uint index, FileDescriptor? fd) => RequestWithVringFd(FrontendRequest.SetVringKick, index, fd);

    /// <summary><c>SET_VRING_CALL</c>: the call eventfd of ring <paramref name="index"/>; null sends the no-fd flag.</summary>
    public void SetVringCall(uint index, FileDescriptor? fd) => RequestWithVringFd(FrontendRequest.SetVringCall, index, fd);

    /// <summary><c>SET_VRING_ERR</c>: the error eventfd of ring <paramref name="index"/>; null sends the no-fd flag.</summary>
    public void SetVringErr(uint index, FileDescriptor? fd) => RequestWithVringFd(FrontendRequest.SetVringErr, index, fd);

    /// <summary><c>SET_VRING_ENABLE</c>.</summary>
    public void SetVringEnable(uint index, bool enable) => RequestWithState(FrontendRequest.SetVringEnable, index, enable ? 1u : 0u);

    /// <summary><c>GET_CONFIG</c>: <paramref name="size"/> bytes of device config space from <paramref name="offset"/>.</summary>
    public byte[] GetConfig(uint offset, uint size, uint flags = ConfigSpace.FlagWritable)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, (uint)ConfigSpace.MaxDataSize);
        byte[] data = new byte[size];
        GetConfig(offset, data, flags);
        return data;
    }

    /// <summary><c>GET_CONFIG</c> into <paramref name="destination"/> (at most 256 bytes), without allocating.</summary>
    /// <exception cref="VhostUserException">The back end answered with an empty payload (its error signal) or a different size.</exception>
    public void GetConfig(uint offset, Span<byte> destination, uint flags = ConfigSpace.FlagWritable)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(destination.Length, ConfigSpace.MaxDataSize);
        var header = new ConfigSpace(offset, (uint)destination.Length, flags);
        Span<byte> body = stackalloc byte[ConfigSpace.MaxSize];
        body.Clear();
        header.Write(body);
        int size = header.EncodedSize;
        Span<byte> reply = stackalloc byte[ConfigSpace.MaxSize];
        lock (_lock)
        {
            int got = Exchange(FrontendRequest.GetConfig, body[..size], default, allowAck: false, reply, -1);
            if (got == 0)
            {
                throw new VhostUserException($"The back end refused GET_CONFIG of {destination.Length} bytes at offset {offset}.");
            }

            ConfigSpace answer = ConfigSpace.Read(reply);
            if (got != size || answer.Size != header.Size)
            {
                throw Fail($"GET_CONFIG was answered with {got} bytes (size field {answer.Size}) instead of {size}.");
            }

            answer.GetData(reply[..got]).CopyTo(destination);
        }
    }

    /// <summary><c>SET_CONFIG</c>: write <paramref name="data"/> (at most 256 bytes) at <paramref name="offset"/>.</summary>
    public void SetConfig(uint offset, ReadOnlySpan<byte> data, uint flags = ConfigSpace.FlagWritable)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(data.Length, ConfigSpace.MaxDataSize);
        var header = new ConfigSpace(offset, (uint)data.Length, flags);
        Span<byte> body = stackalloc byte[ConfigSpace.MaxSize];
        int size = header.Write(body, data);
        Request(FrontendRequest.SetConfig, body[..size], default);
    }

    /// <summary><c>GET_INFLIGHT_FD</c>: the back end's inflight area for <paramref name="numQueues"/> queues of <paramref name="queueSize"/>.</summary>
    public InflightBuffer GetInflightFd(ushort numQueues, ushort queueSize)
    {
        Span<byte> body = stackalloc byte[InflightDescription.Size];
        new InflightDescription(0, 0, numQueues, queueSize).Write(body);
        Span<byte> reply = stackalloc byte[InflightDescription.Size];
        lock (_lock)
        {
            int got = Exchange(FrontendRequest.GetInflightFd, body, default, allowAck: false, reply, -1, expectedFds: 1);
            if (got < InflightDescription.UnpaddedSize)
            {
                CloseReplyFds();
                throw Fail($"GET_INFLIGHT_FD was answered with {got} bytes.");
            }

            InflightDescription inflight = InflightDescription.Read(reply);
            FileDescriptor fd = _replyFds[0];
            _replyFds.Clear();
            return new InflightBuffer(fd, inflight.MmapSize, inflight.MmapOffset);
        }
    }

    /// <summary><c>SET_INFLIGHT_FD</c>: hands an inflight area (back) to the back end.</summary>
    public void SetInflightFd(FileDescriptor fd, ulong mmapSize, ulong mmapOffset, ushort numQueues, ushort queueSize)
    {
        ArgumentNullException.ThrowIfNull(fd);
        Span<byte> body = stackalloc byte[InflightDescription.Size];
        new InflightDescription(mmapSize, mmapOffset, numQueues, queueSize).Write(body);
        Request(FrontendRequest.SetInflightFd, body, new ReadOnlySpan<FileDescriptor>(in fd));
    }

    /// <summary><c>GET_STATUS</c>: the virtio device status byte (needs <c>STATUS</c>).</summary>
    public byte GetStatus()
    {
        ulong value = RequestU64(FrontendRequest.GetStatus);
        return value <= byte.MaxValue ? (byte)value : throw new VhostUserException($"GET_STATUS returned {value}, not a status byte.");
    }

    /// <summary><c>SET_STATUS</c>: the virtio device status byte (needs <c>STATUS</c>).</summary>
    public void SetStatus(byte status) => RequestWithU64(FrontendRequest.SetStatus, status);

    /// <summary><c>RESET_DEVICE</c> (needs <c>RESET_DEVICE</c>).</summary>
    public void ResetDevice() => Request(FrontendRequest.ResetDevice, ReadOnlySpan<byte>.Empty, default);

    /// <summary>
    /// <c>SET_BACKEND_REQ_FD</c> (needs <c>BACKEND_REQ</c>): creates a socket pair, hands one end to
    /// the back end and serves the other on a background thread, raising <see cref="ConfigChanged"/>.
    /// Calling it again replaces the previous channel.
    /// </summary>
    public void SetBackendReqFd()
    {
        (UnixSocket ours, UnixSocket theirs) = UnixSocket.CreatePair();
        var server = new BackendChannelServer(ours, OnConfigChanged, _logger);
        try
        {
            using (theirs)
            {
                FileDescriptor fd = theirs.Handle;
                Request(FrontendRequest.SetBackendReqFd, ReadOnlySpan<byte>.Empty, new ReadOnlySpan<FileDescriptor>(in fd));
            }
        }
        catch
        {
            server.Dispose();
            throw;
        }

        BackendChannelServer? old;
        lock (_lock)
        {
            old = _backendChannel;
            _backendChannel = server;
        }

        old?.Dispose();
        server.Start();
    }

    /// <summary>Stops the back-end channel and closes the connection.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Wake any thread waiting for a reply before taking the lock it holds.
        _channel.Socket.Shutdown();
        BackendChannelServer? backend;
        lock (_lock)
        {
            backend = _backendChannel;
            _backendChannel = null;
            CloseReplyFds();
        }

        backend?.Dispose();
        _channel.Dispose();
    }

    private void OnConfigChanged() => ConfigChanged?.Invoke(this, EventArgs.Empty);

    private ulong RequestU64(FrontendRequest request)
    {
        Span<byte> reply = stackalloc byte[U64Payload.Size];
        lock (_lock)
        {
            Exchange(request, ReadOnlySpan<byte>.Empty, default, allowAck: false, reply, U64Payload.Size);
        }

        return U64Payload.Read(reply).Value;
    }

    private void RequestWithU64(FrontendRequest request, ulong value)
    {
        Span<byte> body = stackalloc byte[U64Payload.Size];
        new U64Payload(value).Write(body);
        Request(request, body, default);
    }

    private void RequestWithState(FrontendRequest request, uint index, uint num)
    {
        Span<byte> body = stackalloc byte[VringState.Size];
        new VringState(index, num).Write(body);
        Request(request, body, default);
    }

    private void RequestWithVringFd(FrontendRequest request, uint index, FileDescriptor? fd)
    {
        Span<byte> body = stackalloc byte[VringIndexWithFd.Size];
        VringIndexWithFd.Create(index, fd is not null).Write(body);
        ReadOnlySpan<FileDescriptor> fds = fd is null ? default : new ReadOnlySpan<FileDescriptor>(in fd);
        Request(request, body, fds);
    }

    /// <summary>A request without a reply body (acknowledged under <c>REPLY_ACK</c>).</summary>
    private void Request(FrontendRequest request, ReadOnlySpan<byte> body, ReadOnlySpan<FileDescriptor> fds)
    {
        lock (_lock)
        {
            Exchange(request, body, fds, allowAck: true, Span<byte>.Empty, 0);
        }
    }

    /// <summary>
    /// Sends one request and, if it has a reply body or asks for an acknowledgement, reads the reply.
    /// Caller holds <see cref="_lock"/>.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="body">Its payload.</param>
    /// <param name="fds">Its fds.</param>
    /// <param name="allowAck">Whether to ask for an acknowledgement when <c>REPLY_ACK</c> is negotiated.</param>
    /// <param name="reply">Where the reply body goes (empty when the request has none).</param>
    /// <param name="replySize">The exact reply size expected, or -1 for any size up to <c>reply.Length</c>.</param>
    /// <param name="expectedFds">How many fds the reply must carry (left in <see cref="_replyFds"/>).</param>
    /// <returns>The reply size.</returns>
    private int Exchange(
        FrontendRequest request,
        ReadOnlySpan<byte> body,
        ReadOnlySpan<FileDescriptor> fds,
        bool allowAck,
        Span<byte> reply,
        int replySize,
        int expectedFds = 0)
    {
        ThrowIfUnusable();
        bool hasReply = MessageRules.TryGet(request, out MessageRule rule) && rule.HasReply;
        bool needAck = allowAck && !hasReply && (_protocolFeatures & ProtocolFeatures.ReplyAck) != 0;
        if (_logger.IsEnabled(LogLevel.Trace))
        {
#pragma warning disable CA1873 // Guarded by IsEnabled above; Describe returns a constant string anyway.
            Log.Sending(_logger, Describe(request), body.Length, fds.Length, needAck);
#pragma warning restore CA1873
        }

        try
        {
            _channel.SendRequest((uint)request, body, fds, needAck);
        }
        catch (VhostUserDisconnectedException e)
        {
            throw Disconnected(e.Message, e);
        }

        if (!hasReply && !needAck)
        {
            return 0;
        }

        VhostUserHeader header = ReceiveReply(request);
        int size = (int)header.PayloadSize;
        if (needAck)
        {
            if (size != U64Payload.Size || _replyFds.Count != 0)
            {
                int count = _replyFds.Count;
                CloseReplyFds();
                throw Fail($"{Describe(request)} was acknowledged with {size} bytes and {count} fds.");
            }

            ulong ack = U64Payload.Read(_reply).Value;
            if (ack != 0)
            {
                Log.Nack(_logger, Describe(request), ack);
                throw new VhostUserException($"The back end rejected {Describe(request)} (acknowledgement {ack}).");
            }

            return 0;
        }

        if ((replySize >= 0 && size != replySize) || size > reply.Length || _replyFds.Count != expectedFds)
        {
            int count = _replyFds.Count;
            CloseReplyFds();
            throw Fail($"{Describe(request)} was answered with {size} bytes and {count} fds.");
        }

        _reply.AsSpan(0, size).CopyTo(reply);
        return size;
    }

    private VhostUserHeader ReceiveReply(FrontendRequest request)
    {
        // The whole reply, not only its first byte, is due within the timeout: a back end that sends
        // half a header and stalls must not hold the caller (the adapter's only thread).
        Deadline deadline = Deadline.After(ReplyTimeout);
        ReceiveResult result;
        VhostUserHeader header;
        do
        {
            if (_channel.Socket.WaitReadable(deadline) != WaitResult.Ready)
            {
                throw Fail($"No reply to {Describe(request)} within {ReplyTimeout}.");
            }

            result = _channel.TryReceive(out header, _reply, _replyFds, deadline);
        }
        while (result.Status == ReceiveStatus.WouldBlock);

        switch (result.Status)
        {
            case ReceiveStatus.Message:
                break;
            case ReceiveStatus.Closed:
                throw Disconnected($"The back end hung up instead of answering {Describe(request)}.", null);
            case ReceiveStatus.Malformed when result.Error == MessageError.Stalled:
                throw Fail($"The reply to {Describe(request)} stopped half-way and did not complete within {ReplyTimeout}.");
            default:
                throw Fail($"Malformed reply to {Describe(request)}: {result.Error}.");
        }

        if (!header.IsReply || header.Request != (uint)request)
        {
            CloseReplyFds();
            throw Fail($"Expected a reply to {Describe(request)}, got request {header.Request} with flags 0x{header.Flags:x}.");
        }

        return header;
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_failure is { } failure)
        {
            throw new VhostUserDisconnectedException($"The vhost-user connection is closed: {failure}");
        }
    }

    /// <summary>
    /// Records a fatal protocol error, shuts the connection down, and returns the exception to throw.
    /// Caller holds <see cref="_lock"/> and has closed any reply fds.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private VhostUserDisconnectedException Fail(string reason) => Disconnected(reason, null);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private VhostUserDisconnectedException Disconnected(string reason, Exception? inner)
    {
        if (_failure is null)
        {
            _failure = reason;
            Log.ConnectionLost(_logger, reason);

            // Any later byte from the back end could be taken for the answer to a newer request.
            _channel.Socket.Shutdown();
        }

        return inner is null ? new VhostUserDisconnectedException(reason) : new VhostUserDisconnectedException(reason, inner);
    }

    private void CloseReplyFds()
    {
        foreach (FileDescriptor fd in _replyFds)
        {
            fd.Dispose();
        }

        _replyFds.Clear();
    }

    /// <summary>Inline room for one fd per memory region, so <see cref="SetMemTable"/> does not allocate.</summary>
    [InlineArray(MemoryTable.MaxRegions)]
    private struct FdArray
    {
        private FileDescriptor _element;
    }
}
