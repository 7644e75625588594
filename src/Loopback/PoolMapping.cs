// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Loopback;

/// <summary>
/// A shared, writable mapping of a device's pool. Its address is what the back end gets as the
/// region's user address, so ring addresses can be translated DMA → user address here.
/// </summary>
public sealed unsafe class PoolMapping : SafeHandle
{
    private PoolMapping(IntPtr address, ulong length, ulong dmaBase)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(address);
        Length = length;
        DmaBase = dmaBase;
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The pool size in bytes.</summary>
    public ulong Length { get; }

    /// <summary>The DMA address of pool byte 0.</summary>
    public ulong DmaBase { get; }

    /// <summary>The address of the mapping in this process.</summary>
    public ulong UserAddress => (ulong)handle;

    /// <summary>Maps <paramref name="length"/> bytes of the pool fd (shared, read/write).</summary>
    public static PoolMapping Map(FileDescriptor poolFd, ulong length, ulong dmaBase)
    {
        ArgumentNullException.ThrowIfNull(poolFd);
        ArgumentOutOfRangeException.ThrowIfZero(length);
        void* p;
        using (FdRef r = new(poolFd))
        {
            p = LibC.mmap(null, (size_t)length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, r.Fd, 0);
        }

        if (p == LibC.MAP_FAILED)
        {
            Errno.Throw("mmap(pool)");
        }

        return new PoolMapping((IntPtr)p, length, dmaBase);
    }

    /// <summary>The user address of DMA address <paramref name="dma"/>, if <paramref name="length"/> bytes from it lie in the pool.</summary>
    public bool TryTranslate(ulong dma, ulong length, out ulong userAddress) =>
        TryTranslate(DmaBase, Length, UserAddress, dma, length, out userAddress);

    /// <summary>The translation rule, shared with tests: <c>user = base + (dma − dmaBase)</c>.</summary>
    public static bool TryTranslate(ulong dmaBase, ulong poolLength, ulong mapBase, ulong dma, ulong length, out ulong userAddress)
    {
        ulong offset = dma - dmaBase;
        if (dma < dmaBase || offset > poolLength || length > poolLength - offset)
        {
            userAddress = 0;
            return false;
        }

        userAddress = mapBase + offset;
        return true;
    }

    /// <summary>Reads the little-endian 16-bit word at DMA address <paramref name="dma"/> (e.g. a ring's used index).</summary>
    public bool TryReadU16(ulong dma, out ushort value)
    {
        ulong offset = dma - DmaBase;
        if (dma < DmaBase || offset > Length || 2 > Length - offset)
        {
            value = 0;
            return false;
        }

        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            value = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>((byte*)handle + offset, 2));
            return true;
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LibC.munmap((void*)handle, (size_t)Length) == 0;
}
