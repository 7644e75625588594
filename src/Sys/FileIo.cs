// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics.CodeAnalysis;
using Tmds.Linux;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>
/// Positional file I/O and file-level calls used by the block device and the random source.
/// Every call retries <c>EINTR</c> and throws <see cref="SysException"/> on any other failure.
/// </summary>
public static unsafe class FileIo
{
    /// <summary>The kernel's limit on entries per vectored call (<c>IOV_MAX</c>).</summary>
    public const int MaxIoVecs = 1024;

    /// <summary>
    /// <c>preadv(2)</c>: reads into the buffers of <paramref name="iov"/> from <paramref name="offset"/>.
    /// </summary>
    /// <returns>Bytes read; fewer than requested at end of file (a short read is not retried).</returns>
    public static long PReadV(FileDescriptor fd, ReadOnlySpan<IoVec> iov, long offset) =>
        Vectored(fd, iov, offset, &NativeMethods.preadv, "preadv");

    /// <summary>
    /// <c>pwritev(2)</c>: writes the buffers of <paramref name="iov"/> at <paramref name="offset"/>.
    /// </summary>
    /// <returns>Bytes written; may be fewer than requested (for example on a full disk).</returns>
    public static long PWriteV(FileDescriptor fd, ReadOnlySpan<IoVec> iov, long offset) =>
        Vectored(fd, iov, offset, &NativeMethods.pwritev, "pwritev");

    /// <summary>One vectored transfer through <paramref name="call"/>, retrying <c>EINTR</c>.</summary>
    private static long Vectored(
        FileDescriptor fd, ReadOnlySpan<IoVec> iov, long offset, delegate*<int, IoVec*, int, long, nint> call, string name)
    {
        CheckVectors(iov, offset);
        using FdRef r = new(fd);
        fixed (IoVec* p = iov)
        {
            nint n;
            do
            {
                n = call(r.Fd, p, iov.Length, offset);
            }
            while (n < 0 && Errno.Last == LibC.EINTR);

            if (n < 0)
            {
                Errno.Throw(name, Errno.Last);
            }

            return n;
        }
    }

    /// <summary><c>pread(2)</c> into <paramref name="buffer"/> from <paramref name="offset"/>.</summary>
    /// <returns>Bytes read; fewer than <c>buffer.Length</c> only at end of file.</returns>
    public static int PRead(FileDescriptor fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            return Positional(fd, p, buffer.Length, offset, write: false);
        }
    }

    /// <summary><c>pwrite(2)</c> of all of <paramref name="data"/> at <paramref name="offset"/>.</summary>
    /// <exception cref="SysException">The write failed, or the file took no more bytes (<c>EIO</c>).</exception>
    public static void PWrite(FileDescriptor fd, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            if (Positional(fd, p, data.Length, offset, write: true) != data.Length)
            {
                Errno.Throw("pwrite", LibC.EIO);
            }
        }
    }

    /// <summary><c>fdatasync(2)</c>: flushes the file's data (and the metadata needed to read it back).</summary>
    public static void FDataSync(FileDescriptor fd)
    {
        using FdRef r = new(fd);
        while (LibC.fdatasync(r.Fd) != 0)
        {
            int errno = Errno.Last;
            if (errno != LibC.EINTR)
            {
                Errno.Throw("fdatasync", errno);
            }
        }
    }

    /// <summary>
    /// <c>fallocate(2)</c>. Discard is <c>PunchHole | KeepSize</c>; write-zeroes is <c>ZeroRange</c>.
    /// Throws with errno <c>EOPNOTSUPP</c> when the file system lacks the mode, so callers can fall back.
    /// </summary>
    public static void Fallocate(FileDescriptor fd, FallocateMode mode, long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        using FdRef r = new(fd);
        while (LibC.fallocate(r.Fd, (int)mode, offset, length) != 0)
        {
            int errno = Errno.Last;
            if (errno != LibC.EINTR)
            {
                Errno.Throw("fallocate", errno);
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> from the kernel's random source (<c>getrandom(2)</c>, flags 0:
    /// blocks only until the pool is initialised at boot).
    /// </summary>
    public static void GetRandom(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int total = 0;

            // Requests above 256 bytes may return short counts; loop until the buffer is full.
            while (total < buffer.Length)
            {
                nint n = NativeMethods.getrandom(p + total, (nuint)(buffer.Length - total), 0);
                if (n < 0)
                {
                    int errno = Errno.Last;
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    Errno.Throw("getrandom", errno);
                }

                total += (int)n;
            }
        }
    }

    /// <summary>Sets or clears <c>O_NONBLOCK</c> on <paramref name="fd"/> (<c>fcntl(F_SETFL)</c>).</summary>
    /// <remarks>
    /// The flag belongs to the open file description, so on a descriptor received from a peer it
    /// changes the peer's view too.
    /// </remarks>
    public static void SetNonBlocking(FileDescriptor fd, bool nonBlocking)
    {
        using FdRef r = new(fd);
        int flags = LibC.fcntl(r.Fd, LibC.F_GETFL);
        if (flags < 0)
        {
            Errno.Throw("fcntl(F_GETFL)");
        }

        int wanted = nonBlocking ? flags | LibC.O_NONBLOCK : flags & ~LibC.O_NONBLOCK;
        if (wanted != flags && LibC.fcntl(r.Fd, LibC.F_SETFL, wanted) < 0)
        {
            Errno.Throw("fcntl(F_SETFL)");
        }
    }

    /// <summary>
    /// <c>open(2)</c> with <c>O_CLOEXEC</c> added, retrying <c>EINTR</c> (opening a FIFO or a device can
    /// block and be interrupted).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="flags">The <c>O_*</c> flags (<c>LibC.O_RDWR | LibC.O_NONBLOCK</c>, ...).</param>
    /// <param name="mode">The permissions of a file <c>O_CREAT</c> makes.</param>
    /// <exception cref="SysException">The open failed; <see cref="SysException.Errno"/> says why.</exception>
    public static FileDescriptor Open(string path, int flags, int mode = 0)
    {
        if (!TryOpen(path, flags, out FileDescriptor? fd, out int errno, mode))
        {
            Errno.Throw($"open({path})", errno);
        }

        return fd;
    }

    /// <summary>Like <see cref="Open"/>, but returns false with the errno instead of throwing.</summary>
    public static bool TryOpen(string path, int flags, [NotNullWhen(true)] out FileDescriptor? fd, out int errno, int mode = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Span<byte> name = CString.Encode(path, stackalloc byte[512]);
        int raw;
        fixed (byte* p = name)
        {
            while ((raw = LibC.open(p, flags | LibC.O_CLOEXEC, (mode_t)(uint)mode)) < 0 && Errno.Last == LibC.EINTR)
            {
            }
        }

        if (raw < 0)
        {
            errno = Errno.Last;
            fd = null;
            return false;
        }

        errno = 0;
        fd = FileDescriptor.Adopt(raw);
        return true;
    }

    /// <summary><c>read(2)</c> into <paramref name="buffer"/>, retrying <c>EINTR</c>.</summary>
    /// <returns>The bytes read (0 at end of file); -1 when the fd is non-blocking and has nothing now (<c>EAGAIN</c>).</returns>
    /// <exception cref="SysException">Any other failure (for example <c>ENODEV</c> from an unplugged device).</exception>
    public static int Read(FileDescriptor fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            return Once(fd, p, buffer.Length, write: false);
        }
    }

    /// <summary><c>write(2)</c> of <paramref name="data"/>, retrying <c>EINTR</c>.</summary>
    /// <returns>The bytes written (possibly fewer); -1 when the fd is non-blocking and full (<c>EAGAIN</c>).</returns>
    /// <exception cref="SysException">Any other failure.</exception>
    public static int Write(FileDescriptor fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            return Once(fd, p, data.Length, write: true);
        }
    }

    /// <summary>The size of the file behind <paramref name="fd"/> (<c>lseek(SEEK_END)</c>).</summary>
    public static long SeekEnd(FileDescriptor fd)
    {
        using FdRef r = new(fd);
        long end = LibC.lseek(r.Fd, 0, LibC.SEEK_END);
        if (end < 0)
        {
            Errno.Throw("lseek(SEEK_END)");
        }

        return end;
    }

    /// <summary>The file system type (<c>f_type</c> of <c>fstatfs(2)</c>, for example <c>TMPFS_MAGIC</c>); null when unknown.</summary>
    public static long? FileSystemType(FileDescriptor fd)
    {
        byte* buffer = stackalloc byte[NativeMethods.StatFsBufferSize];
        using FdRef r = new(fd);
        return NativeMethods.fstatfs(r.Fd, buffer) == 0 ? *(long*)buffer : null;
    }

    /// <summary>
    /// The alignments <c>O_DIRECT</c> needs on <paramref name="fd"/>, from <c>statx(STATX_DIOALIGN)</c>:
    /// of each buffer's address (<paramref name="memory"/>) and of the file offset and each length
    /// (<paramref name="offset"/>). Both 0 means the file does not support direct I/O. False when the
    /// kernel does not say (before 6.1 for files, 6.11 for block devices).
    /// </summary>
    public static bool TryGetDirectIoAlignment(FileDescriptor fd, out uint memory, out uint offset)
    {
        byte* buffer = stackalloc byte[NativeMethods.StatxBufferSize];
        byte empty = 0;
        using FdRef r = new(fd);
        if (NativeMethods.statx(r.Fd, &empty, NativeMethods.AT_EMPTY_PATH, NativeMethods.STATX_DIOALIGN, buffer) != 0
            || (*(uint*)buffer & NativeMethods.STATX_DIOALIGN) == 0)
        {
            memory = offset = 0;
            return false;
        }

        memory = *(uint*)(buffer + NativeMethods.StatxDioMemAlign);
        offset = *(uint*)(buffer + NativeMethods.StatxDioOffsetAlign);
        return true;
    }

    /// <summary>
    /// Moves <paramref name="length"/> bytes at <paramref name="offset"/> with pread or pwrite. A signal
    /// can split a large transfer, so it resumes until all is moved or the call moves nothing (end of
    /// file); <c>EINTR</c> is retried.
    /// </summary>
    private static int Positional(FileDescriptor fd, byte* p, int length, long offset, bool write)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using FdRef r = new(fd);
        int total = 0;
        while (total < length)
        {
            size_t count = (size_t)(ulong)(length - total);
            long n = write ? LibC.pwrite(r.Fd, p + total, count, offset + total) : LibC.pread(r.Fd, p + total, count, offset + total);
            if (n < 0)
            {
                int errno = Errno.Last;
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                Errno.Throw(write ? "pwrite" : "pread", errno);
            }

            if (n == 0)
            {
                break;
            }

            total += (int)n;
        }

        return total;
    }

    /// <summary>One read or write, retrying <c>EINTR</c>; -1 for <c>EAGAIN</c>.</summary>
    private static int Once(FileDescriptor fd, byte* p, int length, bool write)
    {
        using FdRef r = new(fd);
        while (true)
        {
            long n = write ? LibC.write(r.Fd, p, (size_t)(ulong)length) : LibC.read(r.Fd, p, (size_t)(ulong)length);
            if (n >= 0)
            {
                return (int)n;
            }

            int errno = Errno.Last;
            if (errno == LibC.EAGAIN)
            {
                return -1;
            }

            if (errno != LibC.EINTR)
            {
                Errno.Throw(write ? "write" : "read", errno);
            }
        }
    }

    private static void CheckVectors(ReadOnlySpan<IoVec> iov, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (iov.IsEmpty || iov.Length > MaxIoVecs)
        {
            throw new ArgumentOutOfRangeException(nameof(iov), iov.Length, $"Between 1 and {MaxIoVecs} entries are allowed.");
        }
    }
}
