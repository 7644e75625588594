// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Sys.Interop;

/// <summary>
/// The C library calls that Tmds.LibC does not bind. Every declaration of this assembly's own
/// lives here, so a reviewer sees the whole native surface in one file. Each returns -1 and sets
/// errno on failure (read it with <see cref="Marshal.GetLastPInvokeError"/>).
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

    /// <summary><c>ssize_t pread64(int fd, void *buf, size_t count, off64_t offset)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "pread64", SetLastError = true)]
    internal static partial nint pread(int fd, void* buf, nuint count, long offset);

    /// <summary><c>ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "pwrite64", SetLastError = true)]
    internal static partial nint pwrite(int fd, void* buf, nuint count, long offset);

    /// <summary><c>int fallocate64(int fd, int mode, off64_t offset, off64_t len)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "fallocate64", SetLastError = true)]
    internal static partial int fallocate(int fd, int mode, long offset, long len);

    /// <summary><c>ssize_t getrandom(void *buf, size_t buflen, unsigned int flags)</c>.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial nint getrandom(void* buf, nuint buflen, uint flags);

    /// <summary><c>int timerfd_create(int clockid, int flags)</c>.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int timerfd_create(int clockid, int flags);

    /// <summary><c>int timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)</c>.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int timerfd_settime(int fd, int flags, ITimerSpec* newValue, ITimerSpec* oldValue);

    /// <summary>
    /// <c>int ioctl(int fd, unsigned long request, ...)</c> with one pointer-sized argument.
    /// The request is <c>unsigned long</c> in glibc; declaring it as <see cref="nuint"/> keeps the
    /// upper register bits defined for request numbers with the top bit set (<c>_IOR</c>).
    /// </summary>
    [LibraryImport(LibC, SetLastError = true)]
    internal static partial int ioctl(int fd, nuint request, nint arg);

    /// <summary><c>CLOCK_MONOTONIC</c>.</summary>
    internal const int CLOCK_MONOTONIC = 1;

    /// <summary><c>TFD_NONBLOCK</c> (equals <c>O_NONBLOCK</c>).</summary>
    internal const int TFD_NONBLOCK = 0x800;

    /// <summary><c>TFD_CLOEXEC</c> (equals <c>O_CLOEXEC</c>).</summary>
    internal const int TFD_CLOEXEC = 0x80000;

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
