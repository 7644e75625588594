// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console.Endpoints;

/// <summary>
/// The host side of one port. Its "peer" is whoever is on the other end: a socket client, a program
/// that opened the pty's slave, or (always) the file. Data moves only while a peer is connected.
/// </summary>
/// <remarks>Used only under the device's lock; nothing here blocks.</remarks>
internal abstract class PortEndpoint : IDisposable
{
    /// <summary>Whether a peer is connected now.</summary>
    public abstract bool IsConnected { get; }

    /// <summary>The fd data moves through while connected (watch it for reading and writing).</summary>
    public abstract FileDescriptor? DataFd { get; }

    /// <summary>Whether the peer can send (a file cannot).</summary>
    public virtual bool CanRead => true;

    /// <summary>Whether <see cref="DataFd"/> can be watched for writability (epoll refuses regular files).</summary>
    public virtual bool CanWatchWrite => true;

    /// <summary>An fd that becomes readable when a peer may connect (a listening socket), or null.</summary>
    public virtual FileDescriptor? ListenFd => null;

    /// <summary>Whether the peer and the window size can only be learned by asking now and then (a pty).</summary>
    public virtual bool NeedsPolling => false;


    /// <summary>Connects a waiting peer, if one waits; true when the endpoint became connected.</summary>
    /// <param name="errno">The error when accepting failed for a reason other than "nobody waits".</param>
    public virtual bool TryConnect(out int errno)
    {
        errno = 0;
        return false;
    }

    /// <summary>Re-checks whether a peer is connected (for <see cref="NeedsPolling"/> endpoints).</summary>
    public virtual bool PollPeer() => IsConnected;

    /// <summary>The terminal size the peer set, when the endpoint has one.</summary>
    public virtual bool TryGetWindowSize(out ushort cols, out ushort rows)
    {
        cols = 0;
        rows = 0;
        return false;
    }

    /// <summary>The peer left (or must be sent away): close its side; a socket listens again.</summary>
    public abstract void Hangup();

    /// <summary>Reads what the peer sent.</summary>
    public IoResult Read(Span<byte> buffer)
    {
        FileDescriptor? fd = DataFd;
        return fd is null || !IsConnected || !CanRead ? IoResult.Closed(0) : FdIo.Read(fd, buffer);
    }

    /// <summary>Writes to the peer.</summary>
    public IoResult Write(ReadOnlySpan<byte> data)
    {
        FileDescriptor? fd = DataFd;
        return fd is null || !IsConnected ? IoResult.Closed(0) : FdIo.Write(fd, data);
    }

    /// <summary>Releases the endpoint's fds (and a socket's or link's file).</summary>
    public abstract void Dispose();
}
