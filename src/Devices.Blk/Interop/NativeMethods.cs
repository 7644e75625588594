// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Devices.Blk.Interop;

/// <summary>
/// The C library calls the block device needs that <c>VirtioLoopback.Sys</c> does not wrap: opening the
/// image and asking its size. Each returns -1 and sets errno on failure
/// (read it with <see cref="Marshal.GetLastPInvokeError"/>).
/// </summary>
internal static partial class NativeMethods
{
    private const string LibC = "libc";

    /// <summary><c>O_RDONLY</c>.</summary>
    internal const int O_RDONLY = 0;

    /// <summary><c>O_RDWR</c>.</summary>
    internal const int O_RDWR = 2;

    /// <summary><c>O_CLOEXEC</c> (the same value on x86_64, arm and arm64).</summary>
    internal const int O_CLOEXEC = 0x80000;

    /// <summary><c>SEEK_END</c>.</summary>
    internal const int SEEK_END = 2;

    /// <summary>
    /// <c>int open(const char *path, int flags, ...)</c> without <c>O_CREAT</c>, so the variadic mode
    /// argument is never read.
    /// </summary>
    [LibraryImport(LibC, EntryPoint = "open64", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    /// <summary><c>off64_t lseek64(int fd, off64_t offset, int whence)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "lseek64", SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    /// <summary><c>int fstatfs64(int fd, struct statfs64 *buf)</c>; <c>f_type</c> is the first (long) field.</summary>
    [LibraryImport(LibC, EntryPoint = "fstatfs64", SetLastError = true)]
    internal static unsafe partial int fstatfs(int fd, byte* buf);
}
