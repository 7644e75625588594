// SPDX-License-Identifier: MIT
using System;
using System.Runtime.CompilerServices;
using VirtioLoopback.Sys;

namespace VirtioLoopback.GuestMemory;

/// <summary>
/// One front-end memory region mapped into this process: <see cref="Size"/> bytes of guest physical
/// memory starting at <see cref="GuestPhysAddr"/>, backed by a shared mapping of the front end's fd.
/// </summary>
/// <remarks>
/// The region owns its mapping (unless created with <c>ownsMapping: false</c>); <see cref="Dispose"/>
/// unmaps it. Spans handed out earlier must no longer be used after that, which is why the back end
/// disposes a region only while no worker is processing its queues.
/// </remarks>
public sealed class GuestRegion : IDisposable
{
    private readonly MappedMemory _mapping;
    private readonly ulong _mappingOffset;
    private readonly bool _ownsMapping;

    private GuestRegion(MappedMemory mapping, ulong mappingOffset, ulong gpa, ulong size, ulong userAddr, ulong mmapOffset, bool ownsMapping)
    {
        _mapping = mapping;
        _mappingOffset = mappingOffset;
        _ownsMapping = ownsMapping;
        GuestPhysAddr = gpa;
        Size = size;
        UserAddr = userAddr;
        MmapOffset = mmapOffset;
    }

    /// <summary>The guest physical address of the region's first byte.</summary>
    public ulong GuestPhysAddr { get; }

    /// <summary>The region's length in bytes (never zero).</summary>
    public ulong Size { get; }

    /// <summary>The front end's virtual address of the region's first byte (used by <c>SET_VRING_ADDR</c>).</summary>
    public ulong UserAddr { get; }

    /// <summary>The offset of the region's first byte inside the front end's fd.</summary>
    public ulong MmapOffset { get; }

    /// <summary>
    /// The host address of the region's first byte, as a number: what a kernel interface that names
    /// the memory wants (io_uring's registered buffers). Read and write it through <see cref="TryGetSpan"/>.
    /// </summary>
    public ulong HostAddress => _mapping.Address + _mappingOffset;

    /// <summary>The guest physical address of the region's last byte (inclusive, so it cannot overflow).</summary>
    public ulong LastGuestPhysAddr => GuestPhysAddr + (Size - 1);

    /// <summary>Whether the region has been disposed (its spans are gone).</summary>
    public bool IsDisposed => _mapping.IsClosed;

    /// <summary>
    /// Maps <paramref name="size"/> bytes of <paramref name="fd"/> starting at <paramref name="mmapOffset"/>
    /// as guest memory at <paramref name="gpa"/>. The offset need not be page-aligned: the mapping starts
    /// at the page below it and the difference is skipped, as libvhost-user does.
    /// </summary>
    /// <param name="fd">The front end's memory fd; the caller keeps ownership and may close it afterwards.</param>
    /// <param name="gpa">The guest physical address of the region.</param>
    /// <param name="size">The region's length in bytes; not zero.</param>
    /// <param name="userAddr">The front end's virtual address of the region.</param>
    /// <param name="mmapOffset">The region's offset inside <paramref name="fd"/>.</param>
    /// <exception cref="ArgumentException">The region is empty or its addresses wrap around 2^64.</exception>
    /// <exception cref="SysException"><c>mmap</c> failed.</exception>
    public static GuestRegion Map(FileDescriptor fd, ulong gpa, ulong size, ulong userAddr, ulong mmapOffset)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ValidateRange(gpa, size, userAddr);
        ulong pageMask = (ulong)Environment.SystemPageSize - 1;
        ulong floor = mmapOffset & ~pageMask;
        ulong skew = mmapOffset - floor;
        if (floor > long.MaxValue || size > ulong.MaxValue - skew)
        {
            throw new ArgumentException("The region's mmap offset and size do not fit a file offset.", nameof(mmapOffset));
        }

        MappedMemory mapping = MappedMemory.Map(fd, (long)floor, skew + size, writable: true);
        return new GuestRegion(mapping, skew, gpa, size, userAddr, mmapOffset, ownsMapping: true);
    }

    /// <summary>
    /// Wraps part of an existing mapping as a region (tests, or several regions over one mapping):
    /// guest memory at <paramref name="gpa"/> is <paramref name="mapping"/> from <paramref name="mappingOffset"/>.
    /// </summary>
    /// <param name="mapping">The mapping that backs the region.</param>
    /// <param name="mappingOffset">Where the region starts inside <paramref name="mapping"/>.</param>
    /// <param name="gpa">The guest physical address of the region.</param>
    /// <param name="size">The region's length in bytes; not zero.</param>
    /// <param name="userAddr">The front end's virtual address of the region.</param>
    /// <param name="ownsMapping">Whether disposing the region disposes <paramref name="mapping"/>.</param>
    /// <exception cref="ArgumentException">The range is empty, wraps around, or is not inside the mapping.</exception>
    public static GuestRegion FromMapping(MappedMemory mapping, ulong mappingOffset, ulong gpa, ulong size, ulong userAddr, bool ownsMapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        ValidateRange(gpa, size, userAddr);
        if (!mapping.Contains(mappingOffset, size))
        {
            throw new ArgumentException("The region is not inside the mapping.", nameof(size));
        }

        return new GuestRegion(mapping, mappingOffset, gpa, size, userAddr, mappingOffset, ownsMapping);
    }

    /// <summary>Whether the guest physical address <paramref name="gpa"/> lies inside the region.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ContainsGpa(ulong gpa) => gpa - GuestPhysAddr < Size;

    /// <summary>
    /// A span over <paramref name="length"/> bytes at <paramref name="offset"/> from the region's start;
    /// false when the range is not inside the region or the region is disposed. Never throws.
    /// </summary>
    public bool TryGetSpan(ulong offset, int length, out Span<byte> span)
    {
        if (length < 0 || offset > Size || (ulong)length > Size - offset || _mapping.IsClosed)
        {
            span = default;
            return false;
        }

        span = _mapping.GetSpan(_mappingOffset + offset, length);
        return true;
    }

    /// <summary>Unmaps the region (when it owns its mapping).</summary>
    public void Dispose()
    {
        if (_ownsMapping)
        {
            _mapping.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"gpa 0x{GuestPhysAddr:x}..0x{LastGuestPhysAddr:x} size 0x{Size:x} uaddr 0x{UserAddr:x} offset 0x{MmapOffset:x}";

    private static void ValidateRange(ulong gpa, ulong size, ulong userAddr)
    {
        if (size == 0)
        {
            throw new ArgumentException("A region cannot be empty.", nameof(size));
        }

        if (gpa > ulong.MaxValue - (size - 1) || userAddr > ulong.MaxValue - (size - 1))
        {
            throw new ArgumentException("The region's addresses wrap around 2^64.", nameof(size));
        }
    }
}
