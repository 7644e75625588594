// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Sys;

/// <summary><c>EPOLL*</c> event bits.</summary>
[Flags]
public enum EpollEvents : uint
{
    /// <summary>No events.</summary>
    None = 0,

    /// <summary><c>EPOLLIN</c>: readable.</summary>
    In = 0x001,

    /// <summary><c>EPOLLPRI</c>: exceptional condition.</summary>
    Pri = 0x002,

    /// <summary><c>EPOLLOUT</c>: writable.</summary>
    Out = 0x004,

    /// <summary><c>EPOLLERR</c>: error (always reported).</summary>
    Err = 0x008,

    /// <summary><c>EPOLLHUP</c>: hang-up (always reported).</summary>
    Hup = 0x010,

    /// <summary><c>EPOLLRDHUP</c>: the peer shut down its writing half.</summary>
    RdHup = 0x2000,

    /// <summary><c>EPOLLEXCLUSIVE</c>: wake one waiter only.</summary>
    Exclusive = 1u << 28,

    /// <summary><c>EPOLLWAKEUP</c>.</summary>
    WakeUp = 1u << 29,

    /// <summary><c>EPOLLONESHOT</c>: disable after one event until <see cref="Epoll.Modify"/>.</summary>
    OneShot = 1u << 30,

    /// <summary><c>EPOLLET</c>: edge-triggered.</summary>
    EdgeTriggered = 1u << 31,
}
