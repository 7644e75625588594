// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>Config space (<c>GET_CONFIG</c>, <c>SET_CONFIG</c>) and the back-end request channel.</summary>
public sealed partial class BackendHandler
{
    // How long NotifyConfigChanged waits for the front end's REPLY_ACK.
    private static readonly TimeSpan ConfigChangeAckTimeout = TimeSpan.FromSeconds(1);

    // Protects _backendChannel: the control thread replaces it, devices send on it from any thread,
    // and one request and its acknowledgement must not interleave with another's.
    private readonly object _backendLock = new();
    private VhostUserChannel? _backendChannel;

    /// <summary>
    /// <c>GET_CONFIG</c>: replies with the same header and the bytes the device reads. A range beyond
    /// the device's config space is refused rather than padded, so a front end with a wrong idea
    /// of the layout finds out at once.
    /// </summary>
    private string? GetConfig(ReadOnlySpan<byte> payload)
    {
        ConfigSpace request = ConfigSpace.Read(payload);
        string? error = CheckConfigRange(request);
        if (error is not null)
        {
            return error;
        }

        Span<byte> body = stackalloc byte[ConfigSpace.MaxSize];
        Span<byte> data = body.Slice(ConfigSpace.HeaderSize, (int)request.Size);
        _device.ReadConfig((int)request.Offset, data);
        int length = request.Write(body, data);
        _channel!.SendReply(FrontendRequest.GetConfig, body[..length]);
        return null;
    }

    /// <summary><c>SET_CONFIG</c>: the device applies the write or refuses it.</summary>
    private string? SetConfig(ReadOnlySpan<byte> payload)
    {
        ConfigSpace request = ConfigSpace.Read(payload);
        string? error = CheckConfigRange(request);
        if (error is not null)
        {
            return error;
        }

        return _device.WriteConfig((int)request.Offset, request.GetData(payload))
            ? null
            : $"the device refused a write of {request.Size} bytes at offset {request.Offset}";
    }

    /// <summary><c>SET_BACKEND_REQ_FD</c>: the socket the back end sends its requests on.</summary>
    private string? SetBackendReqFd()
    {
        VhostUserChannel channel = new(UnixSocket.Adopt(TakeFd(0)));
        lock (_backendLock)
        {
            _backendChannel?.Dispose();
            _backendChannel = channel;
        }

        Log.BackendChannelSet(_logger);
        return null;
    }

    private string? CheckConfigRange(ConfigSpace request) =>
        request.Offset > (uint)_device.ConfigSize || request.Size > (uint)_device.ConfigSize - request.Offset
            ? $"config range {request.Offset}+{request.Size} is outside the device's {_device.ConfigSize} bytes"
            : null;

    /// <summary>
    /// Sends <c>CONFIG_CHANGE_MSG</c>. With <c>REPLY_ACK</c> it asks for an acknowledgement and
    /// waits for it briefly, except on the control thread: the front end answers only after it has
    /// fetched the new config with <c>GET_CONFIG</c>, which the control thread must be free to serve.
    /// </summary>
    private bool NotifyConfigChanged()
    {
        bool wantAck = (_protocolFeatures & ProtocolFeatures.ReplyAck) != 0;
        bool waitForAck = wantAck && Environment.CurrentManagedThreadId != _controlThread?.ManagedThreadId;
        lock (_backendLock)
        {
            if (_backendChannel is null)
            {
                Log.ConfigChangeFailed(_logger, "no back-end channel (SET_BACKEND_REQ_FD)");
                return false;
            }

            try
            {
                _backendChannel.SendRequest((uint)BackendRequest.ConfigChangeMsg, ReadOnlySpan<byte>.Empty, default, wantAck);
                if (!waitForAck)
                {
                    Log.ConfigChangeSent(_logger);
                    return true;
                }

                return WaitForAck(_backendChannel);
            }
            catch (Exception e) when (e is VhostUserException or SysException)
            {
                Log.ConfigChangeFailed(_logger, e.Message);
                return false;
            }
        }
    }

    /// <summary>Reads the front end's <c>REPLY_ACK</c> on the back-end channel (lock held).</summary>
    private bool WaitForAck(VhostUserChannel channel)
    {
        if (!channel.Socket.WaitReadable((int)ConfigChangeAckTimeout.TotalMilliseconds))
        {
            Log.ConfigChangeFailed(_logger, "no acknowledgement within 1 s");
            return false;
        }

        Span<byte> payload = stackalloc byte[U64Payload.Size];
        System.Collections.Generic.List<FileDescriptor> fds = new(0);
        ReceiveResult result = channel.TryReceive(out VhostUserHeader header, payload, fds);
        foreach (FileDescriptor fd in fds)
        {
            fd.Dispose();
        }

        if (result.Status != ReceiveStatus.Message || !header.IsReply
            || header.BackendRequest != BackendRequest.ConfigChangeMsg || header.PayloadSize != U64Payload.Size)
        {
            Log.ConfigChangeFailed(_logger, $"unexpected answer ({result.Status}, {header})");
            return false;
        }

        ulong status = U64Payload.Read(payload).Value;
        if (status != 0)
        {
            Log.ConfigChangeFailed(_logger, $"the front end answered {status}");
            return false;
        }

        Log.ConfigChangeSent(_logger);
        return true;
    }

    private void DisposeBackendChannel()
    {
        lock (_backendLock)
        {
            _backendChannel?.Dispose();
            _backendChannel = null;
        }
    }

    /// <summary>The <see cref="IDeviceHost"/> given to the device.</summary>
    private sealed class DeviceHost : IDeviceHost
    {
        private readonly BackendHandler _handler;

        public DeviceHost(BackendHandler handler, ILoggerFactory loggerFactory)
        {
            _handler = handler;
            LoggerFactory = loggerFactory;
        }

        public ILoggerFactory LoggerFactory { get; }

        public bool NotifyConfigChanged() => _handler.NotifyConfigChanged();
    }
}
