// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The control loop of a back end: listens on the socket path (kept across front-end disconnects,
/// so QEMU's <c>reconnect</c> works) or serves one inherited socket, hands each message to a
/// <see cref="BackendHandler"/>, and returns when <see cref="RequestShutdown"/> is called.
/// </summary>
/// <remarks>
/// <para>
/// One front end at a time: while a connection is served the listener is not watched, so a second
/// front end waits in the backlog until the first one leaves. After a disconnect every ring is
/// stopped, the memory is dropped and the device is reset before the next connection is accepted.
/// </para>
/// <para>
/// No front end can hold the server: the rest of a message is due within the channel's message
/// timeout (a peer stalled half-way is dropped and the next one served), and every wait on the
/// connection ends at once when a shutdown is requested. The program around it (signals, logging)
/// is the hosting layer's (<c>VirtioLoopback.Hosting</c>).
/// </para>
/// </remarks>
public sealed class BackendServer : IDisposable
{
    private const ulong ShutdownToken = 0;
    private const ulong ListenerToken = 1;
    private const ulong ConnectionToken = 2;

    private readonly IVirtioDevice _device;
    private readonly BackendOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly EventFd _shutdown;
    private readonly Epoll _epoll;
    private readonly EpollEvent[] _events = new EpollEvent[4];

    /// <summary>Creates a server for <paramref name="device"/>; nothing is opened until <see cref="Serve"/>.</summary>
    /// <param name="device">The device to serve.</param>
    /// <param name="options">Where to meet the front end (<see cref="BackendOptions.SocketPath"/> or <see cref="BackendOptions.Fd"/>) and the queue threads.</param>
    /// <param name="loggerFactory">Where to log.</param>
    public BackendServer(IVirtioDevice device, BackendOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if ((options.SocketPath is null) == (options.Fd < 0))
        {
            throw new ArgumentException("Exactly one of SocketPath and Fd must be given.", nameof(options));
        }

        _device = device;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Backend.Server");
        _shutdown = EventFd.Create();
        _epoll = Epoll.Create();
        _epoll.Add(_shutdown.Handle, EpollEvents.In, ShutdownToken);
    }

    /// <summary>Asks <see cref="Serve"/> to stop the rings and return; callable from any thread or a signal handler.</summary>
    public void RequestShutdown() => _shutdown.Signal();

    /// <summary>
    /// Serves front ends until <see cref="RequestShutdown"/> (or, for an inherited connected fd, until
    /// it closes; an inherited listening fd is served like <c>--socket-path</c>).
    /// </summary>
    /// <returns>0; start-up failures (the socket cannot be created) throw.</returns>
    public int Serve()
    {
        using BackendHandler handler = new(_device, _loggerFactory, _options.QueueThreads, _options.PollMicroseconds);
        if (_options.SocketPath is null)
        {
            UnixSocket socket = UnixSocket.Adopt(FileDescriptor.Adopt(_options.Fd));
            if (socket.IsListening)
            {
                // Socket activation: the listener belongs to systemd, which keeps it (and its
                // backlog) across restarts of this process; disposing it removes no file.
                Log.ListeningOnFd(_logger, _options.Fd);
                using (socket)
                {
                    AcceptLoop(handler, socket);
                }
            }
            else
            {
                Log.ServingFd(_logger, _options.Fd);
                ServeConnection(handler, socket);
            }

            Log.ShuttingDown(_logger);
            return 0;
        }

        using UnixSocket listener = UnixSocket.Listen(_options.SocketPath);
        Log.Listening(_logger, _options.SocketPath);
        AcceptLoop(handler, listener);
        Log.ShuttingDown(_logger);
        return 0;
    }

    /// <summary>Accepts and serves one front end after another until shutdown is requested.</summary>
    private void AcceptLoop(BackendHandler handler, UnixSocket listener)
    {
        while (true)
        {
            _epoll.Add(listener.Handle, EpollEvents.In, ListenerToken);
            bool shutdown = WaitFor(ListenerToken);
            _epoll.Remove(listener.Handle);
            if (shutdown)
            {
                break;
            }

            UnixSocket connection;
            try
            {
                connection = listener.Accept();
            }
            catch (SysException e)
            {
                Log.AcceptFailed(_logger, e);
                continue;
            }

            if (ServeConnection(handler, connection))
            {
                break;
            }
        }
    }

    /// <summary>Closes the server's own fds (the handler and listener are closed by <see cref="Serve"/>).</summary>
    public void Dispose()
    {
        _epoll.Dispose();
        _shutdown.Dispose();
    }

    /// <summary>Serves one connection until it ends; true when shutdown was requested meanwhile.</summary>
    private bool ServeConnection(BackendHandler handler, UnixSocket socket)
    {
        Log.Connected(_logger);
        bool shutdown = false;
        using (VhostUserChannel channel = new(socket) { Cancel = _shutdown.Handle })
        {
            _epoll.Add(socket.Handle, EpollEvents.In, ConnectionToken);
            try
            {
                while (true)
                {
                    shutdown = WaitFor(ConnectionToken);
                    if (shutdown || !HandleOne(handler, channel))
                    {
                        break;
                    }
                }
            }
            finally
            {
                _epoll.Remove(socket.Handle);
            }
        }

        // Stop the rings (devices finish with guest memory) before the memory goes away.
        handler.Disconnect();
        Log.Disconnected(_logger);
        return shutdown;
    }

    private bool HandleOne(BackendHandler handler, VhostUserChannel channel)
    {
        try
        {
            return handler.HandleMessage(channel);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // HandleMessage answers failures itself; anything escaping it means the session is unusable.
            Log.ConnectionFailed(_logger, e);
            return false;
        }
    }

    /// <summary>Waits until <paramref name="token"/> is ready; true when shutdown was requested instead.</summary>
    private bool WaitFor(ulong token)
    {
        while (true)
        {
            int n = _epoll.Wait(_events, -1);
            bool ready = false;
            for (int i = 0; i < n; i++)
            {
                if (_events[i].Token == ShutdownToken)
                {
                    return true;
                }

                ready |= _events[i].Token == token;
            }

            if (ready)
            {
                return false;
            }
        }
    }
}
