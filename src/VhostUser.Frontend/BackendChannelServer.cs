// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Frontend;

/// <summary>
/// Serves the back-end channel (<c>SET_BACKEND_REQ_FD</c>) on its own thread, so back-end requests
/// are answered even while the main channel waits for a reply. Only <c>CONFIG_CHANGE_MSG</c> is
/// supported; anything else is refused.
/// </summary>
internal sealed class BackendChannelServer : IDisposable
{
    private const ulong AckSuccess = 0;
    private const ulong AckFailure = 1;

    private readonly VhostUserChannel _channel;
    private readonly Action _configChanged;
    private readonly ILogger _logger;
    private readonly Thread _thread;

    // Preallocated once: a receive allocates nothing but handles for fds that arrive.
    private readonly byte[] _payload = new byte[MessageRules.MaxPayloadSize];
    private readonly List<FileDescriptor> _fds = new(UnixSocket.MaxFds);

    internal BackendChannelServer(UnixSocket socket, Action configChanged, ILogger logger)
    {
        _channel = new VhostUserChannel(socket);
        _configChanged = configChanged;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "vhost-user backend channel" };
    }

    internal void Start() => _thread.Start();

    /// <summary>Wakes the thread (shutdown makes its receive see end of stream), waits for it, closes the socket.</summary>
    public void Dispose()
    {
        _channel.Socket.Shutdown();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _channel.Dispose();
    }

    private void Run()
    {
        Log.BackendChannelStarted(_logger);
        try
        {
            while (ServeOne())
            {
            }
        }
        catch (VhostUserDisconnectedException)
        {
            // The back end went away while we answered; nothing more to serve.
        }
        catch (Exception e) when (e is System.IO.IOException or ObjectDisposedException)
        {
            Log.BackendChannelFailed(_logger, e);
        }
        finally
        {
            CloseFds();
            Log.BackendChannelClosed(_logger);
        }
    }

    private bool ServeOne()
    {
        ReceiveResult result = _channel.TryReceiveBackendRequest(out VhostUserHeader header, _payload, _fds);
        switch (result.Status)
        {
            case ReceiveStatus.Closed:
                return false;
            case ReceiveStatus.WouldBlock:
                _channel.Socket.WaitReadable(-1);
                return true;
            case ReceiveStatus.Malformed when !result.StreamIntact:
                Log.MalformedBackendMessage(_logger, result.Error.ToString());
                return false;
            case ReceiveStatus.Malformed:
                // The message was consumed whole (unknown request, wrong size or fds): refuse it.
                Refuse(header);
                return true;
        }

        if (header.BackendRequest != BackendRequest.ConfigChangeMsg)
        {
            CloseFds();
            Refuse(header);
            return true;
        }

        Log.ConfigChangeReceived(_logger);

        // Acknowledge before running the handler: a handler typically sends GET_CONFIG on the main
        // channel, and a back end that waits for this acknowledgement before serving the main
        // channel would otherwise deadlock with us.
        if (header.NeedsReply)
        {
            _channel.SendU64Reply(header.Request, AckSuccess);
        }

        try
        {
            _configChanged();
        }
#pragma warning disable CA1031 // A subscriber's bug must not end the channel thread (and with it the process).
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.ConfigChangedHandlerFailed(_logger, e);
        }

        return true;
    }

    private void Refuse(in VhostUserHeader header)
    {
        Log.UnsupportedBackendRequest(_logger, RequestNames.Describe(header.BackendRequest), header.NeedsReply);
        if (header.NeedsReply)
        {
            _channel.SendU64Reply(header.Request, AckFailure);
        }
    }

    private void CloseFds()
    {
        foreach (FileDescriptor fd in _fds)
        {
            fd.Dispose();
        }

        _fds.Clear();
    }
}
