// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Loopback;

/// <summary>
/// A device's shared memory pool, mapped here (<see cref="MappedMemory"/>): the module's DMA
/// addresses of rings and buffers are offsets into it, and the mapping's address is what the back
/// end gets as the region's user address, so ring addresses translate DMA → user address here.
/// </summary>
public sealed class DevicePool : IDisposable
{
    private readonly MappedMemory _mapping;

    private DevicePool(MappedMemory mapping, ulong dmaBase)
    {
        _mapping = mapping;
        DmaBase = dmaBase;
    }

    /// <summary>The pool size in bytes.</summary>
    public ulong Length => _mapping.Length;

    /// <summary>The DMA address of pool byte 0.</summary>
    public ulong DmaBase { get; }

    /// <summary>The address of the mapping in this process (the region's user address for the back end).</summary>
    public ulong UserAddress => _mapping.Address;

    /// <summary>Maps <paramref name="length"/> bytes of the pool fd (shared, read/write).</summary>
    public static DevicePool Map(FileDescriptor poolFd, ulong length, ulong dmaBase) =>
        new(MappedMemory.Map(poolFd, 0, length, writable: true), dmaBase);

    /// <summary>The translation rule, shared with tests: <c>user = base + (dma − dmaBase)</c> when the range lies in the pool.</summary>
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

    /// <summary>The user address of DMA address <paramref name="dma"/>, if <paramref name="length"/> bytes from it lie in the pool.</summary>
    public bool TryTranslate(ulong dma, ulong length, out ulong userAddress) =>
        TryTranslate(DmaBase, Length, UserAddress, dma, length, out userAddress);

    /// <summary>Reads the little-endian 16-bit word at DMA address <paramref name="dma"/> (e.g. a ring's used index).</summary>
    public bool TryReadU16(ulong dma, out ushort value)
    {
        ulong offset = dma - DmaBase;
        if (dma < DmaBase || !_mapping.Contains(offset, sizeof(ushort)))
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt16LittleEndian(_mapping.GetSpan(offset, sizeof(ushort)));
        return true;
    }

    /// <summary>Unmaps the pool.</summary>
    public void Dispose() => _mapping.Dispose();
}
