// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;

namespace VirtioLoopback.Sys;

/// <summary>
/// An epoll instance. Descriptors are identified by a caller-chosen 64-bit token (a queue index or a
/// reserved id), never by their number, so a closed-and-reused fd cannot be mistaken for another.
/// </summary>
public sealed unsafe class Epoll : IDisposable
{
    // The kernel's epoll_event layout differs by architecture (packed on x86-64 only), so Wait reads
    // into Tmds.LibC's per-architecture struct on the stack, in batches of this many.
    private const int StackBatch = 64;

    private Epoll(FileDescriptor handle) => Handle = handle;

    /// <summary>The epoll descriptor (itself pollable).</summary>
    public FileDescriptor Handle { get; }

    /// <summary>Creates an empty, close-on-exec epoll set.</summary>
    public static Epoll Create()
    {
        int fd = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        if (fd < 0)
        {
            Errno.Throw("epoll_create1");
        }

        return new Epoll(FileDescriptor.Adopt(fd));
    }

    /// <summary>Watches <paramref name="fd"/> for <paramref name="events"/>, reporting <paramref name="token"/>.</summary>
    public void Add(FileDescriptor fd, EpollEvents events, ulong token) => Control(LibC.EPOLL_CTL_ADD, fd, events, token, "epoll_ctl(ADD)");

    /// <summary>Changes the events or token of a watched descriptor.</summary>
    public void Modify(FileDescriptor fd, EpollEvents events, ulong token) => Control(LibC.EPOLL_CTL_MOD, fd, events, token, "epoll_ctl(MOD)");

    /// <summary>Stops watching <paramref name="fd"/>.</summary>
    public void Remove(FileDescriptor fd) => Control(LibC.EPOLL_CTL_DEL, fd, EpollEvents.None, 0, "epoll_ctl(DEL)");

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> milliseconds (-1: forever, 0: poll) for ready descriptors.
    /// <c>EINTR</c> is retried with the time that is left. Allocation-free; at most 64 events are
    /// returned per call (the rest are reported by the next).
    /// </summary>
    /// <returns>The number of entries written to <paramref name="events"/>; 0 on timeout.</returns>
    public int Wait(Span<EpollEvent> events, int timeoutMs)
    {
        if (events.IsEmpty)
        {
            throw new ArgumentException("At least one slot is needed.", nameof(events));
        }

        int max = Math.Min(events.Length, StackBatch);
        epoll_event* native = stackalloc epoll_event[max];
        Deadline deadline = Deadline.After(timeoutMs);
        int n;
        using (FdRef r = new(Handle))
        {
            while ((n = LibC.epoll_wait(r.Fd, native, max, timeoutMs)) < 0)
            {
                int errno = Errno.Last;
                if (errno != LibC.EINTR)
                {
                    Errno.Throw("epoll_wait", errno);
                }

                timeoutMs = deadline.RemainingMs;
            }
        }

        for (int i = 0; i < n; i++)
        {
            events[i] = new EpollEvent((EpollEvents)(uint)native[i].events, native[i].data.u64);
        }

        return n;
    }

    /// <summary>Closes the epoll set (watched descriptors stay open).</summary>
    public void Dispose() => Handle.Dispose();

    private void Control(int op, FileDescriptor fd, EpollEvents events, ulong token, string call)
    {
        ArgumentNullException.ThrowIfNull(fd);
        epoll_event ev = default;
        ev.events = (int)events;
        ev.data.u64 = token;
        using FdRef self = new(Handle);
        using FdRef target = new(fd);
        if (LibC.epoll_ctl(self.Fd, op, target.Fd, &ev) != 0)
        {
            Errno.Throw(call);
        }
    }
}
