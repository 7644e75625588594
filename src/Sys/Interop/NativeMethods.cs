// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace VirtioLoopback.Sys.Interop;

/// <summary>
/// The C library calls that Tmds.LibC does not bind, or binds without <c>SetLastError</c>. Every
/// declaration of this assembly's own lives here, so a reviewer sees the whole native surface in one
/// file. Each returns -1 and sets errno on failure; read it with <see cref="Errno.Last"/>
/// (<see cref="Marshal.GetLastPInvokeError"/>), never with <c>LibC.errno</c> after a call declared
/// without <c>SetLastError</c>.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string LibC = "libc";

    // The *64 entry points take a 64-bit off_t on every ABI (on 64-bit ABIs they alias the plain
    // names), so a 32-bit target cannot silently truncate a disk offset.

    /// <summary><c>ssize_t preadv64(int fd, const struct iovec *iov, int iovcnt, off64_t offset)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "preadv64", SetLastError = true)]
    internal static partial nint preadv(int fd, IoVec* iov, int iovcnt, long offset);

    /// <summary><c>ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t offset)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "pwritev64", SetLastError = true)]
    internal static partial nint pwritev(int fd, IoVec* iov, int iovcnt, long offset);

    /// <summary><c>ssize_t getrandom(void *buf, size_t buflen, unsigned int flags)</c>.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial nint getrandom(void* buf, nuint buflen, uint flags);

    /// <summary><c>sighandler_t signal(int signum, sighandler_t handler)</c>; returns <c>SIG_ERR</c> (-1) on failure.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial nint signal(int signum, nint handler);

    /// <summary><c>int timerfd_create(int clockid, int flags)</c>.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int timerfd_create(int clockid, int flags);

    /// <summary><c>int timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)</c>.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int timerfd_settime(int fd, int flags, ITimerSpec* newValue, ITimerSpec* oldValue);

    /// <summary>
    /// <c>int poll(struct pollfd *fds, nfds_t nfds, int timeout)</c>. Tmds.LibC 0.5 declares poll and
    /// ppoll without <c>SetLastError</c>, so after its poll fails errno reads whatever an earlier call
    /// left (an EINTR then looks like "Bad file descriptor" or "Success").
    /// </summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int poll(pollfd* fds, nuint nfds, int timeout);

    /// <summary><c>int fstatfs64(int fd, struct statfs64 *buf)</c>; <c>f_type</c> is the first field.</summary>
    [LibraryImport(LibC, EntryPoint = "fstatfs64", SetLastError = true)]
    internal static partial int fstatfs(int fd, byte* buf);

    /// <summary><c>int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)</c> (glibc 2.28).</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);

    /// <summary><c>sizeof(struct statx)</c>: 256 on every ABI.</summary>
    internal const int StatxBufferSize = 256;

    /// <summary><c>STATX_DIOALIGN</c> (Linux 6.1): ask for the direct I/O alignments.</summary>
    internal const uint STATX_DIOALIGN = 0x2000;

    /// <summary><c>AT_EMPTY_PATH</c>: <c>statx</c> of the descriptor itself.</summary>
    internal const int AT_EMPTY_PATH = 0x1000;

    /// <summary>The offset of <c>stx_dio_mem_align</c> (u32) in <c>struct statx</c>; <c>stx_mask</c> is at 0.</summary>
    internal const int StatxDioMemAlign = 0x98;

    /// <summary>The offset of <c>stx_dio_offset_align</c> (u32) in <c>struct statx</c>.</summary>
    internal const int StatxDioOffsetAlign = 0x9C;

    /// <summary>
    /// <c>int ioctl(int fd, unsigned long request, ...)</c> with one pointer-sized argument.
    /// The request is <c>unsigned long</c> in glibc; declaring it as <see cref="nuint"/> keeps the
    /// upper register bits defined for request numbers with the top bit set (<c>_IOR</c>), which
    /// Tmds.LibC's <c>int</c> request would sign-extend.
    /// </summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int ioctl(int fd, nuint request, nint arg);

    /// <summary>
    /// <c>long syscall(long number, ...)</c> with three to six integer arguments: glibc wraps none of
    /// the io_uring calls. On x86-64 and arm64 a variadic call with integer arguments passes them as
    /// a plain call does.
    /// </summary>
    [LibraryImport(LibC, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall6(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    /// <summary><c>__NR_io_uring_setup</c>: the same number on every architecture (the unified table).</summary>
    internal const long SYS_io_uring_setup = 425;

    /// <summary><c>__NR_io_uring_enter</c>.</summary>
    internal const long SYS_io_uring_enter = 426;

    /// <summary><c>__NR_io_uring_register</c>.</summary>
    internal const long SYS_io_uring_register = 427;

    /// <summary><c>CLOCK_MONOTONIC</c>.</summary>
    internal const int CLOCK_MONOTONIC = 1;

    /// <summary><c>TFD_NONBLOCK</c> (equals <c>O_NONBLOCK</c>).</summary>
    internal const int TFD_NONBLOCK = 0x800;

    /// <summary><c>TFD_CLOEXEC</c> (equals <c>O_CLOEXEC</c>).</summary>
    internal const int TFD_CLOEXEC = 0x80000;

    /// <summary><c>sizeof(struct statfs64)</c> is 120 on x86-64 and arm64; room to spare.</summary>
    internal const int StatFsBufferSize = 256;

    /// <summary><c>struct timespec</c>: both fields are C <c>long</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        internal nint Seconds;
        internal nint Nanoseconds;
    }

    /// <summary><c>struct itimerspec</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ITimerSpec
    {
        internal TimeSpec Interval;
        internal TimeSpec Value;
    }
}
