// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>Anonymous shared memory files (<c>memfd_create(2)</c>), the way vhost-user shares memory.</summary>
public static class MemFd
{
    /// <summary>Creates a close-on-exec memfd named <paramref name="name"/> of <paramref name="size"/> bytes.</summary>
    public static unsafe FileDescriptor Create(string name, long size)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Span<byte> utf8 = CString.Encode(name, stackalloc byte[256]);
        int fd;
        fixed (byte* p = utf8)
        {
            fd = LibC.memfd_create(p, LibC.MFD_CLOEXEC);
        }

        if (fd < 0)
        {
            Errno.Throw("memfd_create");
        }

        FileDescriptor handle = FileDescriptor.Adopt(fd);
        if (LibC.ftruncate(fd, size) != 0)
        {
            int errno = Errno.Last;
            handle.Dispose();
            Errno.Throw("ftruncate", errno);
        }

        return handle;
    }
}
