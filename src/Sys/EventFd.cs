// SPDX-License-Identifier: MIT
using System;
using System.IO;
using Tmds.Linux;

namespace VirtioLoopback.Sys;

/// <summary>
/// An <c>eventfd(2)</c> counter: the kick, call and err notifications of vhost-user, and the wake-up
/// fd of worker loops.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    private EventFd(FileDescriptor handle) => Handle = handle;

    /// <summary>The descriptor (readable while the counter is non-zero).</summary>
    public FileDescriptor Handle { get; }

    /// <summary>Creates a non-blocking, close-on-exec eventfd with a zero counter.</summary>
    /// <param name="semaphore"><c>EFD_SEMAPHORE</c>: each read takes 1 instead of the whole count.</param>
    public static EventFd Create(bool semaphore = false)
    {
        int flags = LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC | (semaphore ? LibC.EFD_SEMAPHORE : 0);
        int fd = LibC.eventfd(0, flags);
        if (fd < 0)
        {
            Errno.Throw("eventfd");
        }

        return new EventFd(FileDescriptor.Adopt(fd));
    }

    /// <summary>
    /// Wraps an eventfd received from a peer; the returned object owns <paramref name="handle"/>.
    /// </summary>
    /// <remarks>
    /// The descriptor keeps the blocking mode the peer gave it (changing it would change the peer's
    /// file description too). Call <see cref="TryRead"/> on such an fd only after epoll reports it
    /// readable, or it may block.
    /// </remarks>
    public static EventFd Adopt(FileDescriptor handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return new EventFd(handle);
    }

    /// <summary>
    /// Whether <paramref name="handle"/> is an eventfd, judged by its <c>/proc/self/fd</c> link. A peer
    /// may send any fd where an eventfd belongs; writing 8-byte counters into a memfd or a pipe would
    /// go unnoticed. True when <c>/proc</c> is not mounted and the question cannot be answered.
    /// </summary>
    public static bool IsEventFd(FileDescriptor handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        using FdRef r = new(handle);
        string? target;
        try
        {
            target = new FileInfo($"/proc/self/fd/{r.Fd}").LinkTarget;
        }
        catch (IOException)
        {
            return true;
        }

        return target is null || target == "anon_inode:[eventfd]";
    }

    /// <summary>
    /// Adds <paramref name="value"/> to the counter. A full counter (<c>EAGAIN</c>) is not an error:
    /// the reader has not consumed earlier signals yet, so it will wake up anyway.
    /// </summary>
    public void Signal(ulong value = 1)
    {
        int n = FileIo.Write(Handle, new ReadOnlySpan<byte>(&value, sizeof(ulong)));
        if (n >= 0 && n != sizeof(ulong))
        {
            Errno.Throw("write(eventfd)", LibC.EINVAL);
        }
    }

    /// <summary>Reads and resets the counter (or takes 1 in semaphore mode).</summary>
    /// <returns><see langword="false"/> when the counter is zero.</returns>
    public bool TryRead(out ulong value) => TryReadCounter(Handle, out value);

    /// <summary>Closes the descriptor.</summary>
    public void Dispose() => Handle.Dispose();

    /// <summary>Reads the 8-byte counter of an eventfd or a timerfd; false when it is zero (<c>EAGAIN</c>).</summary>
    internal static bool TryReadCounter(FileDescriptor fd, out ulong value)
    {
        ulong v = 0;
        int n = FileIo.Read(fd, new Span<byte>(&v, sizeof(ulong)));
        value = n == sizeof(ulong) ? v : 0;
        return n == sizeof(ulong);
    }
}
