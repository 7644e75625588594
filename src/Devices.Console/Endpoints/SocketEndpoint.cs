// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console.Endpoints;

/// <summary>
/// A unix stream socket the back end listens on. One client is the peer; while it is connected the
/// listening socket is not watched, so further clients wait in the backlog until it leaves.
/// </summary>
internal sealed class SocketEndpoint : PortEndpoint
{
    private readonly UnixSocket _listener;
    private FileDescriptor? _client;

    private SocketEndpoint(UnixSocket listener)
    {
        _listener = listener;
    }

    /// <inheritdoc />
    public override bool IsConnected => _client is not null;

    /// <inheritdoc />
    public override FileDescriptor? DataFd => _client;

    /// <inheritdoc />
    public override FileDescriptor? ListenFd => _listener.Handle;


    /// <summary>Listens on <paramref name="path"/> (a stale socket file is replaced).</summary>
    /// <exception cref="System.IO.IOException">The socket cannot be created.</exception>
    public static SocketEndpoint Listen(string path)
    {
        UnixSocket listener = UnixSocket.Listen(path);
        try
        {
            listener.SetNonBlocking();
            return new SocketEndpoint(listener);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override bool TryConnect(out int errno)
    {
        errno = 0;
        if (_client is not null)
        {
            return false;
        }

        try
        {
            _client = _listener.TryAccept();
        }
        catch (SysException e)
        {
            errno = e.Errno;
            return false;
        }

        return _client is not null;
    }

    /// <inheritdoc />
    public override void Hangup()
    {
        _client?.Dispose();
        _client = null;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        Hangup();
        _listener.Dispose();
    }
}
