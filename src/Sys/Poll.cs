// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>The readiness <c>poll(2)</c> waits for and reports.</summary>
[Flags]
public enum PollEvents : short
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary><c>POLLIN</c>: data (or end of stream) to read.</summary>
    In = 0x1,

    /// <summary><c>POLLOUT</c>: room to write.</summary>
    Out = 0x4,

    /// <summary><c>POLLERR</c> (always reported).</summary>
    Error = 0x8,

    /// <summary><c>POLLHUP</c> (always reported).</summary>
    HangUp = 0x10,

    /// <summary><c>POLLNVAL</c>: not an open fd (always reported).</summary>
    Invalid = 0x20,

    /// <summary><c>POLLRDHUP</c>: the peer shut down its writing side.</summary>
    ReadHangUp = 0x2000,
}

/// <summary>How a wait ended.</summary>
public enum WaitResult
{
    /// <summary>The fd is ready (or reports an error or hang-up).</summary>
    Ready,

    /// <summary>The deadline passed first.</summary>
    TimedOut,

    /// <summary>The cancel fd became readable first (a shutdown was requested).</summary>
    Cancelled,
}

/// <summary>
/// <c>poll(2)</c> on one fd, optionally with a second, "cancel" fd (an eventfd a shutdown signals):
/// <c>EINTR</c> is retried with the time that is left, and errno is read from a declaration with
/// <c>SetLastError</c>. Allocation-free.
/// </summary>
public static unsafe class Poll
{
    /// <summary>
    /// Waits until <paramref name="fd"/> reports one of <paramref name="events"/> (or an error or a
    /// hang-up), until <paramref name="deadline"/>, or until <paramref name="cancel"/> is readable.
    /// </summary>
    public static WaitResult Wait(FileDescriptor fd, PollEvents events, Deadline deadline, FileDescriptor? cancel = null)
    {
        ArgumentNullException.ThrowIfNull(fd);
        using FdRef target = new(fd);
        if (cancel is null)
        {
            return WaitRaw(target.Fd, events, -1, deadline);
        }

        using FdRef stop = new(cancel);
        return WaitRaw(target.Fd, events, stop.Fd, deadline);
    }

    /// <summary>
    /// The events <paramref name="fd"/> reports now among <paramref name="events"/> (plus errors and
    /// hang-ups), without waiting.
    /// </summary>
    public static PollEvents Query(FileDescriptor fd, PollEvents events)
    {
        ArgumentNullException.ThrowIfNull(fd);
        using FdRef r = new(fd);
        pollfd p = default;
        p.fd = r.Fd;
        p.events = (short)events;
        return Call(&p, 1, 0) > 0 ? (PollEvents)p.revents : PollEvents.None;
    }

    /// <summary>The wait on raw fd numbers held by the caller; <paramref name="cancel"/> is -1 for none.</summary>
    internal static WaitResult WaitRaw(int fd, PollEvents events, int cancel, Deadline deadline)
    {
        pollfd* fds = stackalloc pollfd[2];
        fds[0].fd = fd;
        fds[0].events = (short)events;
        fds[1].fd = cancel;
        fds[1].events = (short)PollEvents.In;
        nuint count = cancel >= 0 ? 2u : 1u;
        while (true)
        {
            fds[0].revents = 0;
            fds[1].revents = 0;
            int n = Call(fds, count, deadline.RemainingMs);
            if (n == 0)
            {
                return WaitResult.TimedOut;
            }

            if (count == 2 && fds[1].revents != 0)
            {
                return WaitResult.Cancelled;
            }

            if (fds[0].revents != 0)
            {
                return WaitResult.Ready;
            }
        }
    }

    /// <summary>One poll, retried on <c>EINTR</c> with the time left; returns the ready count.</summary>
    private static int Call(pollfd* fds, nuint count, int timeoutMs)
    {
        Deadline deadline = Deadline.After(timeoutMs);
        while (true)
        {
            int n = NativeMethods.poll(fds, count, timeoutMs);
            if (n >= 0)
            {
                return n;
            }

            int errno = Errno.Last;
            if (errno != LibC.EINTR)
            {
                Errno.Throw("poll", errno);
            }

            timeoutMs = deadline.RemainingMs;
        }
    }
}
