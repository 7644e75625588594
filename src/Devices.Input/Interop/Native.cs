// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Devices.Input.Interop;

/// <summary>The system calls the evdev back end makes beyond those Sys wraps.</summary>
internal static unsafe partial class Native
{
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int EBADF = 9;
    internal const int EAGAIN = 11;
    internal const int EACCES = 13;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int EROFS = 30;
    internal const int EPERM = 1;

    /// <summary><c>int open(const char *path, int flags)</c>; -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    /// <summary><c>ssize_t read(int fd, void *buf, size_t count)</c>; -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, void* buffer, nuint count);

    /// <summary><c>ssize_t write(int fd, const void *buf, size_t count)</c>; -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, void* buffer, nuint count);
}
