// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Tmds.Linux;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>
/// A stream <c>AF_UNIX</c> socket that can pass file descriptors (<c>SCM_RIGHTS</c>), the transport of
/// vhost-user. All sockets are close-on-exec; received descriptors are close-on-exec too
/// (<c>MSG_CMSG_CLOEXEC</c>) and are wrapped in <see cref="FileDescriptor"/> handles at once.
/// </summary>
/// <remarks>
/// One thread may send while another receives. To wake a thread blocked in a receive, call
/// <see cref="Shutdown"/>; <see cref="Dispose"/> alone waits for the blocked call (the handle is
/// reference counted) and never shuts the connection down, because the descriptor may also be held
/// by a peer it was passed to.
/// </remarks>
public sealed unsafe class UnixSocket : IDisposable
{
    /// <summary>The most descriptors one message may carry (vhost-user's limit, <c>VHOST_MEMORY_BASELINE_NREGIONS</c>).</summary>
    public const int MaxFds = 8;

    /// <summary>Listen backlog: a vhost-user back end serves one front end at a time.</summary>
    private const int Backlog = 4;

    // Room for one SCM_RIGHTS header plus MaxFds ints, in 8-byte units so the buffer is aligned
    // for cmsghdr: CMSG_SPACE(8 * sizeof(int)) is 16 + 32 = 48 bytes on 64-bit ABIs (less on 32-bit).
    private const int ControlWords = 8;

    private readonly string? _listenPath;

    private UnixSocket(FileDescriptor handle, string? listenPath = null)
    {
        Handle = handle;
        _listenPath = listenPath;
    }

    /// <summary>The socket descriptor.</summary>
    public FileDescriptor Handle { get; }

    /// <summary>The file-system path of a listening socket created by <see cref="Listen"/>; otherwise null.</summary>
    public string? Path => _listenPath;

    /// <summary>
    /// Creates a socket listening on <paramref name="path"/>. A stale socket file left by an earlier
    /// run is removed first; any other kind of file at that path is an error. Disposing the listener
    /// removes the socket file.
    /// </summary>
    /// <exception cref="ArgumentException">The path does not fit <c>sun_path</c>.</exception>
    /// <exception cref="IOException">The path exists and is not a socket.</exception>
    public static UnixSocket Listen(string path)
    {
        sockaddr_un address = MakeAddress(path);
        RemoveStaleSocket(address, path);
        FileDescriptor fd = NewSocket();
        try
        {
            using FdRef r = new(fd);
            if (LibC.bind(r.Fd, (sockaddr*)&address, sizeof(sockaddr_un)) != 0)
            {
                Errno.Throw("bind");
            }

            if (LibC.listen(r.Fd, Backlog) != 0)
            {
                Errno.Throw("listen");
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }

        return new UnixSocket(fd, path);
    }

    /// <summary>Connects to the socket at <paramref name="path"/>.</summary>
    /// <exception cref="SysException">Errno <c>ENOENT</c> (no socket yet) or <c>ECONNREFUSED</c> (nobody listening), among others.</exception>
    public static UnixSocket Connect(string path)
    {
        sockaddr_un address = MakeAddress(path);
        FileDescriptor fd = NewSocket();
        try
        {
            using FdRef r = new(fd);
            while (LibC.connect(r.Fd, (sockaddr*)&address, sizeof(sockaddr_un)) != 0)
            {
                // A connect interrupted while the listener's backlog is full goes on in the kernel;
                // asking again says EISCONN once it got through.
                int errno = Errno.Last;
                if (errno == LibC.EISCONN)
                {
                    break;
                }

                if (errno != LibC.EINTR)
                {
                    Errno.Throw("connect", errno);
                }
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }

        return new UnixSocket(fd);
    }

    /// <summary>Creates a connected pair (<c>socketpair(2)</c>), for the back-end channel and for tests.</summary>
    public static (UnixSocket First, UnixSocket Second) CreatePair()
    {
        int* sv = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, sv) != 0)
        {
            Errno.Throw("socketpair");
        }

        return (new UnixSocket(FileDescriptor.Adopt(sv[0])), new UnixSocket(FileDescriptor.Adopt(sv[1])));
    }

    /// <summary>
    /// Wraps a connected stream socket received from a peer (the back-end channel fd of
    /// <c>SET_BACKEND_REQ_FD</c>) or inherited (<c>--fd=N</c>); the returned object owns <paramref name="handle"/>.
    /// </summary>
    public static UnixSocket Adopt(FileDescriptor handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return new UnixSocket(handle);
    }

    /// <summary>
    /// Whether this socket is listening (<c>SO_ACCEPTCONN</c>): an inherited <c>--fd=N</c> is either a
    /// connected socket (QEMU's convention) or, under systemd socket activation, a listening one.
    /// </summary>
    public bool IsListening
    {
        get
        {
            using FdRef r = new(Handle);
            int value = 0;
            socklen_t length = sizeof(int);
            if (LibC.getsockopt(r.Fd, LibC.SOL_SOCKET, LibC.SO_ACCEPTCONN, &value, &length) != 0)
            {
                Errno.Throw("getsockopt(SO_ACCEPTCONN)");
            }

            return value != 0;
        }
    }

    /// <summary>Waits for and accepts one connection (close-on-exec). Retries <c>EINTR</c>.</summary>
    public UnixSocket Accept()
    {
        using FdRef r = new(Handle);
        int fd;
        while ((fd = LibC.accept4(r.Fd, null, null, LibC.SOCK_CLOEXEC)) < 0)
        {
            int errno = Errno.Last;
            if (errno != LibC.EINTR && errno != LibC.ECONNABORTED)
            {
                Errno.Throw("accept4", errno);
            }
        }

        return new UnixSocket(FileDescriptor.Adopt(fd));
    }

    /// <summary>
    /// Accepts one waiting connection without blocking, as a non-blocking close-on-exec fd. Retries
    /// <c>EINTR</c> and skips connections aborted before they were taken.
    /// </summary>
    /// <returns>The connection, or null when none is waiting (<c>EAGAIN</c>).</returns>
    /// <exception cref="SysException">The accept failed otherwise (for example <c>EMFILE</c>).</exception>
    public FileDescriptor? TryAccept()
    {
        using FdRef r = new(Handle);
        int fd;
        while ((fd = LibC.accept4(r.Fd, null, null, LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK)) < 0)
        {
            int errno = Errno.Last;
            if (errno == LibC.EAGAIN)
            {
                return null;
            }

            if (errno != LibC.EINTR && errno != LibC.ECONNABORTED)
            {
                Errno.Throw("accept4", errno);
            }
        }

        return FileDescriptor.Adopt(fd);
    }

    /// <summary>Sends all of <paramref name="data"/>, with <paramref name="fds"/> attached to its first byte.</summary>
    /// <returns>The number of bytes sent (always <c>data.Length</c>).</returns>
    public int Send(ReadOnlySpan<byte> data, ReadOnlySpan<FileDescriptor> fds) => Send(data, default, fds, Deadline.Infinite);

    /// <summary>Sends <paramref name="first"/> then <paramref name="second"/> as one gathered write, waiting as long as it takes.</summary>
    /// <returns>The number of bytes sent (always the sum of both lengths).</returns>
    public int Send(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<FileDescriptor> fds) => Send(first, second, fds, Deadline.Infinite);

    /// <summary>
    /// Sends <paramref name="first"/> then <paramref name="second"/> as one gathered write (a header and
    /// its payload without copying), with <paramref name="fds"/> attached to the first byte.
    /// <c>MSG_NOSIGNAL</c> is used, so a closed peer is an exception, not <c>SIGPIPE</c>. While the
    /// peer's buffer is full the send waits in <c>poll</c> (never in <c>sendmsg</c>), until
    /// <paramref name="deadline"/> or until <paramref name="cancel"/> is readable.
    /// </summary>
    /// <returns>The number of bytes sent (always the sum of both lengths).</returns>
    /// <exception cref="ArgumentException">More than <see cref="MaxFds"/> descriptors, or descriptors with no data.</exception>
    /// <exception cref="SysException">
    /// The send failed: errno <c>EPIPE</c> or <c>ECONNRESET</c> when the peer is gone,
    /// <see cref="Errno.TimedOut"/> when the peer did not take the data in time, <see cref="Errno.Canceled"/>
    /// when <paramref name="cancel"/> fired (part of the data may have been sent then).
    /// </exception>
    public int Send(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<FileDescriptor> fds, Deadline deadline, FileDescriptor? cancel = null)
    {
        int total = first.Length + second.Length;
        if (fds.Length > MaxFds)
        {
            throw new ArgumentException($"At most {MaxFds} descriptors per message.", nameof(fds));
        }

        if (total == 0)
        {
            if (!fds.IsEmpty)
            {
                throw new ArgumentException("Descriptors must travel with at least one byte.", nameof(fds));
            }

            return 0;
        }

        int referenced = 0;
        int* numbers = stackalloc int[MaxFds];
        bool cancelAdded = false;
        try
        {
            // Hold every descriptor for the whole call so none can be closed and its number reused
            // by another thread before the kernel has duplicated it into the message.
            for (; referenced < fds.Length; referenced++)
            {
                FileDescriptor fd = fds[referenced] ?? throw new ArgumentException("Null descriptor.", nameof(fds));
                bool added = false;
                fd.DangerousAddRef(ref added);
                numbers[referenced] = fd.DangerousFd;
            }

            cancel?.DangerousAddRef(ref cancelAdded);
            using FdRef self = new(Handle);
            fixed (byte* p1 = first)
            fixed (byte* p2 = second)
            {
                SendAll(self.Fd, p1, first.Length, p2, second.Length, numbers, fds.Length, deadline, cancelAdded ? cancel!.DangerousFd : -1);
            }
        }
        finally
        {
            for (int i = 0; i < referenced; i++)
            {
                fds[i].DangerousRelease();
            }

            if (cancelAdded)
            {
                cancel!.DangerousRelease();
            }
        }

        return total;
    }

    /// <summary>
    /// Receives up to <c>buffer.Length</c> bytes with <c>recvmsg(MSG_CMSG_CLOEXEC)</c>. Descriptors that
    /// arrive are appended to <paramref name="receivedFds"/> (the caller owns them).
    /// </summary>
    /// <param name="buffer">Where the bytes go.</param>
    /// <param name="receivedFds">Where received descriptors are appended.</param>
    /// <param name="dontWait"><c>MSG_DONTWAIT</c>: return -1 at once rather than block, whatever the socket's mode.</param>
    /// <returns>Bytes received; 0 at end of stream (including a reset by the peer); -1 when nothing is
    /// available and the socket is non-blocking or <paramref name="dontWait"/> is set.</returns>
    /// <exception cref="TooManyFdsException">More than <see cref="MaxFds"/> descriptors arrived
    /// (<c>MSG_CTRUNC</c>); the ones that did arrive are closed and not added.</exception>
    public int Receive(Span<byte> buffer, List<FileDescriptor> receivedFds, bool dontWait = false)
    {
        ArgumentNullException.ThrowIfNull(receivedFds);
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("A receive needs room for at least one byte.", nameof(buffer));
        }

        ulong* control = stackalloc ulong[ControlWords];
        int controlLength = ControlMessage.Space(sizeof(int) * MaxFds);
        long n;
        msghdr msg;
        fixed (byte* p = buffer)
        {
            iovec iov = default;
            iov.iov_base = p;
            iov.iov_len = (size_t)(ulong)buffer.Length;
            msg = default;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = controlLength;
            using FdRef self = new(Handle);
            int flags = LibC.MSG_CMSG_CLOEXEC | (dontWait ? LibC.MSG_DONTWAIT : 0);
            while ((n = LibC.recvmsg(self.Fd, &msg, flags)) < 0)
            {
                int errno = Errno.Last;
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                if (errno == LibC.EAGAIN)
                {
                    return -1;
                }

                if (errno == LibC.ECONNRESET)
                {
                    return 0;
                }

                Errno.Throw("recvmsg", errno);
            }
        }

        int firstNew = receivedFds.Count;
        for (cmsghdr* c = ControlMessage.First(&msg); c != null; c = ControlMessage.Next(&msg, c))
        {
            if (c->cmsg_level != LibC.SOL_SOCKET || c->cmsg_type != LibC.SCM_RIGHTS)
            {
                continue;
            }

            int count = ((int)c->cmsg_len - ControlMessage.Length(0)) / sizeof(int);
            int* fds = (int*)ControlMessage.Data(c);
            for (int i = 0; i < count; i++)
            {
                receivedFds.Add(FileDescriptor.Adopt(fds[i]));
            }
        }

        if ((msg.msg_flags & LibC.MSG_CTRUNC) != 0)
        {
            for (int i = firstNew; i < receivedFds.Count; i++)
            {
                receivedFds[i].Dispose();
            }

            receivedFds.RemoveRange(firstNew, receivedFds.Count - firstNew);
            throw new TooManyFdsException();
        }

        return (int)n;
    }

    /// <summary>
    /// Reads exactly <c>buffer.Length</c> bytes unless the stream ends first. Descriptors attached to
    /// these bytes are not expected and are discarded (the kernel closes them). On a non-blocking
    /// socket this waits for data.
    /// </summary>
    /// <returns>The bytes read: <c>buffer.Length</c>, or fewer when the peer closed the stream.</returns>
    public int ReceiveExact(Span<byte> buffer)
    {
        int got = 0;
        using FdRef self = new(Handle);
        fixed (byte* p = buffer)
        {
            while (got < buffer.Length)
            {
                long n = LibC.recv(self.Fd, p + got, (size_t)(ulong)(buffer.Length - got), 0);
                if (n > 0)
                {
                    got += (int)n;
                    continue;
                }

                if (n == 0)
                {
                    break;
                }

                int errno = Errno.Last;
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                if (errno == LibC.EAGAIN)
                {
                    Poll.WaitRaw(self.Fd, PollEvents.In, -1, Deadline.Infinite);
                    continue;
                }

                if (errno == LibC.ECONNRESET)
                {
                    break;
                }

                Errno.Throw("recv", errno);
            }
        }

        return got;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> milliseconds (-1: forever) until a receive would not
    /// block: data, end of stream or an error is pending. Signals do not shorten or lengthen the wait.
    /// </summary>
    /// <returns><see langword="false"/> on timeout.</returns>
    public bool WaitReadable(int timeoutMs) => WaitReadable(Deadline.After(timeoutMs)) == WaitResult.Ready;

    /// <summary>
    /// Waits until a receive would not block, until <paramref name="deadline"/>, or until
    /// <paramref name="cancel"/> is readable.
    /// </summary>
    public WaitResult WaitReadable(Deadline deadline, FileDescriptor? cancel = null) => Poll.Wait(Handle, PollEvents.In, deadline, cancel);

    /// <summary>
    /// Whether the peer has closed or shut down its end, without consuming anything
    /// (<c>poll(POLLRDHUP)</c> with a zero timeout). Data still queued does not count as a hang-up.
    /// </summary>
    public bool HasPeerHungUp() =>
        (Poll.Query(Handle, PollEvents.ReadHangUp) & (PollEvents.ReadHangUp | PollEvents.HangUp | PollEvents.Error)) != 0;

    /// <summary>
    /// Shuts both directions down: blocked and later receives on either end see end of stream.
    /// Does nothing if the socket is already closed or not connected.
    /// </summary>
    public void Shutdown()
    {
        bool added = false;
        try
        {
            Handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (LibC.shutdown(Handle.DangerousFd, LibC.SHUT_RDWR) != 0 && Errno.Last != LibC.ENOTCONN)
            {
                Errno.Throw("shutdown");
            }
        }
        finally
        {
            if (added)
            {
                Handle.DangerousRelease();
            }
        }
    }

    /// <summary>Sets or clears <c>O_NONBLOCK</c> (for sockets driven by an epoll loop).</summary>
    public void SetNonBlocking(bool nonBlocking = true) => FileIo.SetNonBlocking(Handle, nonBlocking);

    /// <summary>Closes the socket; a listener also removes its socket file.</summary>
    public void Dispose()
    {
        if (Handle.IsClosed)
        {
            return;
        }

        Handle.Dispose();
        if (_listenPath is not null)
        {
            Unlink(_listenPath);
        }
    }

    private static void SendAll(int fd, byte* p1, int len1, byte* p2, int len2, int* fdNumbers, int fdCount, Deadline deadline, int cancel)
    {
        ulong* control = stackalloc ulong[ControlWords];
        iovec* iov = stackalloc iovec[2];
        int total = len1 + len2;
        int sent = 0;
        bool attachFds = fdCount > 0;
        while (sent < total)
        {
            int count = 0;
            if (sent < len1)
            {
                iov[count].iov_base = p1 + sent;
                iov[count++].iov_len = (size_t)(ulong)(len1 - sent);
                if (len2 > 0)
                {
                    iov[count].iov_base = p2;
                    iov[count++].iov_len = (size_t)(ulong)len2;
                }
            }
            else
            {
                iov[count].iov_base = p2 + (sent - len1);
                iov[count++].iov_len = (size_t)(ulong)(total - sent);
            }

            msghdr msg = default;
            msg.msg_iov = iov;
            msg.msg_iovlen = count;
            if (attachFds)
            {
                // The descriptors ride on the first chunk only; once any byte is out they are delivered.
                int payload = sizeof(int) * fdCount;
                msg.msg_control = control;
                msg.msg_controllen = ControlMessage.Space(payload);
                cmsghdr* c = ControlMessage.First(&msg);
                c->cmsg_level = LibC.SOL_SOCKET;
                c->cmsg_type = LibC.SCM_RIGHTS;
                c->cmsg_len = ControlMessage.Length(payload);
                Buffer.MemoryCopy(fdNumbers, ControlMessage.Data(c), payload, payload);
            }

            // MSG_DONTWAIT: a full peer buffer is waited for in poll, which honours the deadline and
            // the cancel fd; a blocking sendmsg could only be left by the peer reading.
            long n = LibC.sendmsg(fd, &msg, LibC.MSG_NOSIGNAL | LibC.MSG_DONTWAIT);
            if (n < 0)
            {
                int errno = Errno.Last;
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                if (errno != LibC.EAGAIN)
                {
                    Errno.Throw("sendmsg", errno);
                }

                switch (Poll.WaitRaw(fd, PollEvents.Out, cancel, deadline))
                {
                    case WaitResult.TimedOut:
                        Errno.Throw("sendmsg", Errno.TimedOut);
                        break;
                    case WaitResult.Cancelled:
                        Errno.Throw("sendmsg", Errno.Canceled);
                        break;
                }

                continue;
            }

            sent += (int)n;
            attachFds = false;
        }
    }

    private static FileDescriptor NewSocket()
    {
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            Errno.Throw("socket");
        }

        return FileDescriptor.Adopt(fd);
    }

    private static sockaddr_un MakeAddress(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        sockaddr_un address = default;
        address.sun_family = LibC.AF_UNIX;
        Span<byte> sunPath = new(address.sun_path, SunPathLength);
        int length = Encoding.UTF8.GetByteCount(path);

        // One byte stays for the terminating NUL the kernel looks for.
        if (length >= SunPathLength || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A unix socket path must be under {SunPathLength} bytes without NUL: '{path}'.", nameof(path));
        }

        Encoding.UTF8.GetBytes(path, sunPath);
        return address;
    }

    private static int SunPathLength => sizeof(sockaddr_un) - sizeof(ushort);

    private static void RemoveStaleSocket(sockaddr_un address, string path)
    {
        stat st;
        if (LibC.lstat(address.sun_path, &st) != 0)
        {
            int errno = Errno.Last;
            if (errno == LibC.ENOENT)
            {
                return;
            }

            Errno.Throw("lstat", errno);
        }

        if ((st.st_mode & LibC.S_IFMT) != LibC.S_IFSOCK)
        {
            throw new IOException($"'{path}' exists and is not a socket; refusing to replace it.");
        }

        if (LibC.unlink(address.sun_path) != 0 && Errno.Last != LibC.ENOENT)
        {
            Errno.Throw("unlink");
        }
    }

    private static void Unlink(string path)
    {
        sockaddr_un address = MakeAddress(path);

        // Best effort: the file may already be gone (removed by an operator or a newer instance).
        _ = LibC.unlink(address.sun_path);
    }
}
