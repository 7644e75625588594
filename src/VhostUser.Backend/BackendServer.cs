// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The control loop of a back-end program: listens on the socket path (kept across front-end
/// disconnects, so QEMU's <c>reconnect</c> works) or serves one inherited socket, hands each message
/// to a <see cref="BackendHandler"/>, and shuts down cleanly on SIGTERM or SIGINT.
/// </summary>
/// <remarks>
/// One front end at a time: while a connection is served the listener is not watched, so a second
/// front end waits in the backlog until the first one leaves. After a disconnect every ring is
/// stopped, the memory is dropped and the device is reset before the next connection is accepted.
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
    /// <param name="options">Where to meet the front end (<see cref="BackendOptions.SocketPath"/> or <see cref="BackendOptions.Fd"/>).</param>
    /// <param name="loggerFactory">The logger factory (<see cref="BackendOptions.LoggerFactory"/> is not consulted here).</param>
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

    /// <summary>
    /// Runs a back-end program: serves <paramref name="device"/> as <paramref name="options"/> say
    /// until SIGTERM/SIGINT (or, with <c>--fd</c>, until the front end leaves).
    /// </summary>
    /// <returns>The process exit code: 0 after a clean shutdown, <see cref="BackendCommandLine.ExitFailure"/> when the back end cannot start.</returns>
    public static int Run(IVirtioDevice device, BackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        ILoggerFactory? owned = options.LoggerFactory is null ? BackendLogging.CreateFactory(options.LogLevel) : null;
        ILoggerFactory loggerFactory = options.LoggerFactory ?? owned!;
        try
        {
            using BackendServer server = new(device, options, loggerFactory);
            void OnSignal(PosixSignalContext context)
            {
                // Not the default action (exit at once): the rings stop and the socket file goes first.
                context.Cancel = true;
                server.RequestShutdown();
            }

            using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

            // SIGUSR1: one line of process statistics, so a benchmark can check that the request path
            // allocates nothing (the managed heap's total does not move while requests flow).
            ILogger statsLogger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Backend.Statistics");
            using PosixSignalRegistration statistics = PosixSignalRegistration.Create(SigUsr1, context =>
            {
                context.Cancel = true;
                long allocated = GC.GetTotalAllocatedBytes(precise: true);
                int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
                Log.Statistics(statsLogger, allocated, gen0, gen1, gen2);
            });
            return server.Serve();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ILogger logger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Backend.Server");
            Log.ServerFailed(logger, e);
            return BackendCommandLine.ExitFailure;
        }
        finally
        {
            owned?.Dispose();
        }
    }

    /// <summary>SIGUSR1 (a raw signal number: <see cref="PosixSignal"/> has no name for it).</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    /// <summary>Asks <see cref="Serve"/> to stop the rings and return; callable from any thread or a signal handler.</summary>
    public void RequestShutdown() => _shutdown.Signal();

    /// <summary>
    /// Serves front ends until <see cref="RequestShutdown"/> (or, for an inherited connected fd, until
    /// it closes; an inherited listening fd is served like <c>--socket-path</c>).
    /// </summary>
    /// <returns>0; start-up failures (the socket cannot be created) throw.</returns>
    public int Serve()
    {
        using BackendHandler handler = new(_device, _loggerFactory);
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
        using (VhostUserChannel channel = new(socket))
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
