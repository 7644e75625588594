// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace VirtioLoopback.Sys;

/// <summary>
/// Owns one Linux file descriptor. Release is a single <c>close(2)</c>.
/// </summary>
/// <remarks>
/// Raw fd numbers are only valid while a reference is held; use <see cref="SafeHandle.DangerousAddRef"/>
/// and <see cref="SafeHandle.DangerousRelease"/> (or <see cref="FdRef"/>) around system calls.
/// </remarks>
public sealed class FileDescriptor : SafeHandle
{
    /// <summary>Creates an invalid handle (used by interop marshalling).</summary>
    public FileDescriptor()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    private FileDescriptor(int fd, bool ownsHandle)
        : base(new IntPtr(-1), ownsHandle)
    {
        SetHandle(new IntPtr(fd));
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>Takes ownership of <paramref name="fd"/>; it is closed when this handle is released.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The fd is negative.</exception>
    public static FileDescriptor Adopt(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        return new FileDescriptor(fd, ownsHandle: true);
    }

    /// <summary>Wraps <paramref name="fd"/> without owning it (for example stdin).</summary>
    public static FileDescriptor Borrow(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        return new FileDescriptor(fd, ownsHandle: false);
    }

    /// <summary>
    /// The raw descriptor number, for diagnostics and for system calls made while a reference is held.
    /// </summary>
    public int DangerousFd => (int)handle.ToInt64();

    /// <summary>Duplicates the descriptor (close-on-exec) into a new owning handle.</summary>
    public FileDescriptor Duplicate()
    {
        using FdRef r = new(this);
        int fd = LibC.fcntl(r.Fd, LibC.F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
        {
            Errno.Throw("fcntl(F_DUPFD_CLOEXEC)");
        }

        return Adopt(fd);
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => LibC.close((int)handle.ToInt64()) == 0;
}

/// <summary>
/// Holds a reference on a <see cref="FileDescriptor"/> for the duration of a system call, so the
/// number cannot be closed and reused underneath it.
/// </summary>
public readonly ref struct FdRef
{
    private readonly FileDescriptor _owner;

    /// <summary>Adds a reference to <paramref name="owner"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle is already closed.</exception>
    public FdRef(FileDescriptor owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        bool added = false;
        owner.DangerousAddRef(ref added);
        _owner = owner;
        Fd = owner.DangerousFd;
    }

    /// <summary>The raw descriptor number, valid until <see cref="Dispose"/>.</summary>
    public int Fd { get; }

    /// <summary>Drops the reference.</summary>
    public void Dispose() => _owner?.DangerousRelease();
}
