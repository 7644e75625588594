// SPDX-License-Identifier: MIT
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace VirtioLoopback.Sys;

/// <summary>
/// A shared <c>mmap(2)</c> of a file descriptor. Release is a single <c>munmap(2)</c>.
/// Callers see the memory only as bounds-checked spans.
/// </summary>
public sealed unsafe class MappedMemory : SafeHandle
{
    private MappedMemory(IntPtr address, ulong length)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(address);
        Length = length;
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The mapping's length in bytes.</summary>
    public ulong Length { get; }

    /// <summary>
    /// The mapping's address in this process, as a number: what a protocol that names the mapping
    /// wants (vhost-user's region user address). Access the memory through <see cref="GetSpan"/>.
    /// </summary>
    public ulong Address => (ulong)handle;

    /// <summary>
    /// Maps <paramref name="length"/> bytes of <paramref name="fd"/> from <paramref name="offset"/>
    /// (page-aligned) as <c>MAP_SHARED</c>.
    /// </summary>
    public static MappedMemory Map(FileDescriptor fd, long offset, ulong length, bool writable)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentOutOfRangeException.ThrowIfZero(length);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        int prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
        void* p;
        using (FdRef r = new(fd))
        {
            // mmap accepts a range past the end of a regular file (a memfd is one), but the first
            // touch beyond it raises SIGBUS and kills the process. The peer chooses sizes and offsets,
            // so refuse such a range here. Other kinds of fd (devices) police their own mmap.
            stat st;
            if (LibC.fstat(r.Fd, &st) != 0)
            {
                Errno.Throw("fstat");
            }

            if (LibC.S_ISREG(st.st_mode) && (length > long.MaxValue || offset > (long)st.st_size - (long)length))
            {
                throw new SysException(
                    $"mmap: offset {offset} + length {length} is past the end of the file ({(long)st.st_size} bytes)");
            }

            p = LibC.mmap(null, (size_t)length, prot, LibC.MAP_SHARED, r.Fd, offset);
        }

        if (p == LibC.MAP_FAILED)
        {
            Errno.Throw("mmap");
        }

        return new MappedMemory((IntPtr)p, length);
    }

    /// <summary>
    /// A span over <paramref name="length"/> bytes at <paramref name="offset"/> of the mapping.
    /// The span is valid while this mapping is alive.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the mapping.</exception>
    public Span<byte> GetSpan(ulong offset, int length)
    {
        if (length < 0 || offset > Length || (ulong)length > Length - offset)
        {
            ThrowOutOfRange();
        }

        return new Span<byte>((byte*)handle + offset, length);
    }

    /// <summary>Whether <paramref name="length"/> bytes at <paramref name="offset"/> lie inside the mapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong offset, ulong length) => offset <= Length && length <= Length - offset;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => LibC.munmap((void*)handle, (size_t)Length) == 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOutOfRange() =>
        throw new ArgumentOutOfRangeException("offset", "The range is outside the mapping.");
}
