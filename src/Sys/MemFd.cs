// SPDX-License-Identifier: MIT
using System;
using System.Text;
using Tmds.Linux;

namespace VirtioLoopback.Sys;

/// <summary>Anonymous shared memory files (<c>memfd_create(2)</c>), the way vhost-user shares memory.</summary>
public static class MemFd
{
    /// <summary>Creates a close-on-exec memfd named <paramref name="name"/> of <paramref name="size"/> bytes.</summary>
    public static unsafe FileDescriptor Create(string name, long size)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        int byteCount = Encoding.UTF8.GetByteCount(name);
        Span<byte> utf8 = byteCount < 200 ? stackalloc byte[byteCount + 1] : new byte[byteCount + 1];
        Encoding.UTF8.GetBytes(name, utf8);
        utf8[byteCount] = 0;
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
