// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;

namespace VirtioLoopback.TestDriver;

/// <summary>
/// Guest memory for tests: one memfd mapped here as a single region, with a bump allocator for
/// rings and buffers. The "user address" the front end would report is a fake base distinct from
/// the guest physical address, so address translation is exercised.
/// </summary>
/// <remarks>
/// Send <see cref="Fd"/>, <see cref="Gpa"/>, <see cref="Size"/>, <see cref="UserAddr"/> and
/// <see cref="MmapOffset"/> in <c>SET_MEM_TABLE</c> to share this memory with a real back end.
/// The memfd is sparse, so large sizes cost only what is touched. Not thread-safe (the memory
/// itself may of course be shared with another thread or process).
/// </remarks>
public sealed class TestGuestMemory : IDisposable
{
    /// <summary>The default guest physical base (4 GiB, so 32-bit truncation bugs show).</summary>
    public const ulong DefaultGpa = 0x1_0000_0000;

    /// <summary>The default fake front-end virtual base.</summary>
    public const ulong DefaultUserAddr = 0x7f00_1234_0000;

    /// <summary>The default size: 16 MiB.</summary>
    public const ulong DefaultSize = 16 << 20;

    private ulong _next;

    /// <summary>
    /// Creates <paramref name="size"/> bytes of zeroed guest memory at <paramref name="gpa"/>.
    /// With a non-zero <paramref name="mmapOffset"/> the memfd has that many leading bytes that are
    /// not guest memory, as with a front end that shares one fd for several regions.
    /// </summary>
    public TestGuestMemory(ulong size = DefaultSize, ulong gpa = DefaultGpa, ulong userAddr = DefaultUserAddr, ulong mmapOffset = 0)
    {
        Fd = MemFd.Create("virtio-loopback-test-memory", checked((long)(mmapOffset + size)));
        try
        {
            Region = GuestRegion.Map(Fd, gpa, size, userAddr, mmapOffset);
        }
        catch
        {
            Fd.Dispose();
            throw;
        }

        Map = GuestMemoryMap.Empty.With(Region);
        _next = gpa;
    }

    /// <summary>The memfd backing the memory (for <c>SET_MEM_TABLE</c>).</summary>
    public FileDescriptor Fd { get; }

    /// <summary>The guest physical address of the first byte.</summary>
    public ulong Gpa => Region.GuestPhysAddr;

    /// <summary>The size in bytes.</summary>
    public ulong Size => Region.Size;

    /// <summary>The fake front-end virtual address of the first byte.</summary>
    public ulong UserAddr => Region.UserAddr;

    /// <summary>Where the memory starts inside <see cref="Fd"/>.</summary>
    public ulong MmapOffset => Region.MmapOffset;

    /// <summary>This process's mapping of the memory, as a region.</summary>
    public GuestRegion Region { get; }

    /// <summary>A memory map holding only <see cref="Region"/> (owned by this object).</summary>
    public GuestMemoryMap Map { get; }

    /// <summary>The bytes handed out by <see cref="Alloc"/> so far, padding included.</summary>
    public ulong Allocated => _next - Gpa;

    /// <summary>The same as <see cref="Map"/>: what a back end sharing this memory would see.</summary>
    public GuestMemoryMap ToGuestMemoryMap() => Map;

    /// <summary>
    /// Maps the memfd a second time as a new region, the way a back end maps what it receives in
    /// <c>SET_MEM_TABLE</c>. The caller disposes it.
    /// </summary>
    public GuestRegion MapAgain() => GuestRegion.Map(Fd, Gpa, Size, UserAddr, MmapOffset);

    /// <summary>Reserves <paramref name="size"/> bytes aligned to <paramref name="align"/> (a power of two); returns the GPA.</summary>
    /// <exception cref="InvalidOperationException">The memory is exhausted.</exception>
    public ulong Alloc(ulong size, ulong align = 16)
    {
        if (align == 0 || (align & (align - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(align), "The alignment must be a power of two.");
        }

        ulong start = (_next + align - 1) & ~(align - 1);
        if (start < _next || start - Gpa > Size || size > Size - (start - Gpa))
        {
            throw new InvalidOperationException($"Test guest memory exhausted: {size} bytes wanted, {Allocated} of {Size} used.");
        }

        _next = start + size;
        return start;
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>; returns its GPA.</summary>
    public ulong AllocBytes(ReadOnlySpan<byte> data, ulong align = 16)
    {
        ulong gpa = Alloc((ulong)data.Length, align);
        data.CopyTo(GetSpan(gpa, data.Length));
        return gpa;
    }

    /// <summary>Whether <paramref name="length"/> bytes at <paramref name="gpa"/> are inside this memory.</summary>
    public bool Contains(ulong gpa, ulong length) => Map.ContainsRange(gpa, length);

    /// <summary>The memory at <paramref name="gpa"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside this memory.</exception>
    public Span<byte> GetSpan(ulong gpa, int length)
    {
        if (length < 0 || !Map.TryGetSpan(gpa, (uint)length, out Span<byte> span))
        {
            throw new ArgumentOutOfRangeException(nameof(gpa), $"0x{gpa:x}+{length} is not inside the test guest memory.");
        }

        return span;
    }

    /// <summary>The fake front-end virtual address of <paramref name="gpa"/>.</summary>
    public ulong ToUserAddr(ulong gpa)
    {
        if (!Region.ContainsGpa(gpa))
        {
            throw new ArgumentOutOfRangeException(nameof(gpa));
        }

        return UserAddr + (gpa - Gpa);
    }

    /// <summary>Copies <paramref name="length"/> bytes at <paramref name="gpa"/> into a new array.</summary>
    public byte[] ReadBytes(ulong gpa, int length) => GetSpan(gpa, length).ToArray();

    /// <summary>Copies <paramref name="data"/> to <paramref name="gpa"/>.</summary>
    public void WriteBytes(ulong gpa, ReadOnlySpan<byte> data) => data.CopyTo(GetSpan(gpa, data.Length));

    /// <summary>Fills <paramref name="length"/> bytes at <paramref name="gpa"/> with <paramref name="value"/>.</summary>
    public void Fill(ulong gpa, int length, byte value) => GetSpan(gpa, length).Fill(value);

    /// <summary>Reads a little-endian 16-bit value.</summary>
    public ushort ReadU16(ulong gpa) => BinaryPrimitives.ReadUInt16LittleEndian(GetSpan(gpa, 2));

    /// <summary>Reads a little-endian 32-bit value.</summary>
    public uint ReadU32(ulong gpa) => BinaryPrimitives.ReadUInt32LittleEndian(GetSpan(gpa, 4));

    /// <summary>Reads a little-endian 64-bit value.</summary>
    public ulong ReadU64(ulong gpa) => BinaryPrimitives.ReadUInt64LittleEndian(GetSpan(gpa, 8));

    /// <summary>Writes a little-endian 16-bit value.</summary>
    public void WriteU16(ulong gpa, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(gpa, 2), value);

    /// <summary>Writes a little-endian 32-bit value.</summary>
    public void WriteU32(ulong gpa, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(gpa, 4), value);

    /// <summary>Writes a little-endian 64-bit value.</summary>
    public void WriteU64(ulong gpa, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(GetSpan(gpa, 8), value);

    /// <summary>Unmaps the memory and closes the memfd.</summary>
    public void Dispose()
    {
        Region.Dispose();
        Fd.Dispose();
    }
}
