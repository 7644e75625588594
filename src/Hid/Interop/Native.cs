// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Hid.Interop;

/// <summary>The C library calls the hidraw code makes beyond those Sys wraps.</summary>
internal static unsafe partial class Native
{
    internal const int O_RDWR = 2;
    internal const int O_CLOEXEC = 0x80000;

    internal const short POLLHUP = 0x10;
    internal const short POLLERR = 0x08;
    internal const short POLLNVAL = 0x20;

    internal const int EINTR = 4;

    /// <summary><c>int open(const char *path, int flags)</c>; -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    /// <summary><c>int poll(struct pollfd *fds, nfds_t nfds, int timeout)</c>; -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    /// <summary><c>struct pollfd</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        internal int Fd;
        internal short Events;
        internal short Revents;
    }
}
