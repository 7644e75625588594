// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>
/// <c>ioctl(2)</c> with request numbers built the way <c>asm-generic/ioctl.h</c> builds them
/// (x86, arm and arm64 share that encoding).
/// </summary>
public static unsafe class IoCtl
{
    private const int NrShift = 0;
    private const int TypeShift = 8;
    private const int SizeShift = 16;
    private const int DirShift = 30;
    private const uint DirNone = 0;
    private const uint DirWrite = 1;
    private const uint DirRead = 2;

    /// <summary><c>_IO(type, nr)</c>.</summary>
    public static uint Io(uint type, uint nr) => Encode(DirNone, type, nr, 0);

    /// <summary><c>_IOR(type, nr, size)</c>: the kernel writes <paramref name="size"/> bytes to the argument.</summary>
    public static uint Ior(uint type, uint nr, uint size) => Encode(DirRead, type, nr, size);

    /// <summary><c>_IOW(type, nr, size)</c>: the kernel reads <paramref name="size"/> bytes from the argument.</summary>
    public static uint Iow(uint type, uint nr, uint size) => Encode(DirWrite, type, nr, size);

    /// <summary><c>_IOWR(type, nr, size)</c>.</summary>
    public static uint Iowr(uint type, uint nr, uint size) => Encode(DirRead | DirWrite, type, nr, size);

    /// <summary>Issues <paramref name="request"/> with an integer (or null) argument; retries <c>EINTR</c>.</summary>
    /// <returns>The call's non-negative result.</returns>
    public static int Invoke(FileDescriptor fd, uint request, nint argument)
    {
        using FdRef r = new(fd);
        int result;
        while ((result = NativeMethods.ioctl(r.Fd, request, argument)) < 0)
        {
            int errno = Errno.Last;
            if (errno != LibC.EINTR)
            {
                Errno.Throw("ioctl", errno);
            }
        }

        return result;
    }

    /// <summary>Issues <paramref name="request"/> with a pointer to <paramref name="value"/> (in, out, or both).</summary>
    /// <returns>The call's non-negative result.</returns>
    public static int Invoke<T>(FileDescriptor fd, uint request, ref T value)
        where T : unmanaged
    {
        fixed (T* p = &value)
        {
            return Invoke(fd, request, (nint)p);
        }
    }

    /// <summary>Issues <paramref name="request"/> with a pointer to <paramref name="buffer"/> (in, out, or both).</summary>
    /// <returns>The call's non-negative result.</returns>
    public static int Invoke(FileDescriptor fd, uint request, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            return Invoke(fd, request, (nint)p);
        }
    }

    /// <summary>
    /// Like <see cref="Invoke(FileDescriptor, uint, Span{byte})"/>, but a failure is an answer, not an
    /// exception: for devices whose refusals are expected (a busy GPIO line).
    /// </summary>
    /// <returns>True on success; otherwise false with the errno (never <c>EINTR</c>, which is retried).</returns>
    public static bool TryInvoke(FileDescriptor fd, uint request, Span<byte> buffer, out int errno)
    {
        using FdRef r = new(fd);
        fixed (byte* p = buffer)
        {
            while (NativeMethods.ioctl(r.Fd, request, (nint)p) < 0)
            {
                errno = Errno.Last;
                if (errno != LibC.EINTR)
                {
                    return false;
                }
            }
        }

        errno = 0;
        return true;
    }

    private static uint Encode(uint dir, uint type, uint nr, uint size)
    {
        if (type > 0xff || nr > 0xff || size > 0x3fff)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "ioctl type and number are 8 bits, size 14 bits.");
        }

        return (dir << DirShift) | (size << SizeShift) | (type << TypeShift) | (nr << NrShift);
    }
}
