// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Sys;

/// <summary>One ready descriptor reported by <see cref="Epoll.Wait"/>: its events and the caller's token.</summary>
public readonly struct EpollEvent
{
    /// <summary>Creates an event.</summary>
    public EpollEvent(EpollEvents events, ulong token)
    {
        Events = events;
        Token = token;
    }

    /// <summary>The events that occurred.</summary>
    public EpollEvents Events { get; }

    /// <summary>The token given to <see cref="Epoll.Add"/>.</summary>
    public ulong Token { get; }
}
