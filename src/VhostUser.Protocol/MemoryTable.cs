// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// "Memory regions description" of <c>SET_MEM_TABLE</c>: a u32 count, u32 padding, then
/// <c>count</c> regions (QEMU sends only the used entries, so the size is 8 + 32 × count). Held
/// inline, at most <see cref="MaxRegions"/> entries, without allocation.
/// </summary>
public readonly struct MemoryTable
{
    /// <summary><c>VHOST_MEMORY_BASELINE_NREGIONS</c>: regions per table (one fd each).</summary>
    public const int MaxRegions = 8;

    /// <summary>Bytes before the first region (count and padding).</summary>
    public const int HeaderSize = 8;

    /// <summary>Encoded size of a full table.</summary>
    public const int MaxSize = HeaderSize + (MaxRegions * MemoryRegion.Size);

    private readonly RegionArray _regions;

    // How many entries of _regions hold decoded regions; below Count when a hostile message
    // claims more regions than it carries or than a table can hold.
    private readonly int _stored;

    /// <summary>Creates a table of <paramref name="regions"/>.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxRegions"/> regions.</exception>
    public MemoryTable(ReadOnlySpan<MemoryRegion> regions)
    {
        if (regions.Length > MaxRegions)
        {
            throw new ArgumentException($"At most {MaxRegions} regions.", nameof(regions));
        }

        Count = (uint)regions.Length;
        _stored = regions.Length;
        RegionArray storage = default;
        regions.CopyTo(storage);
        _regions = storage;
    }

    private MemoryTable(uint count, int stored, RegionArray regions)
    {
        Count = count;
        _stored = stored;
        _regions = regions;
    }

    /// <summary>
    /// The count field as received. A hostile message may claim more than <see cref="MaxRegions"/>
    /// or more than it carries; then <see cref="IsValid"/> is false and only the regions actually
    /// decoded are readable.
    /// </summary>
    public uint Count { get; }

    /// <summary>The encoded size of the regions held.</summary>
    public int EncodedSize => EncodedSizeFor(_stored);

    /// <summary>Region <paramref name="index"/>.</summary>
    public MemoryRegion this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_stored)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return _regions[index];
        }
    }

    /// <summary>The encoded size of a table with <paramref name="count"/> regions.</summary>
    public static int EncodedSizeFor(int count) => HeaderSize + (count * MemoryRegion.Size);

    /// <summary>
    /// Decodes a table. Reads the count, then as many regions (up to <see cref="MaxRegions"/>) as
    /// both the count and <paramref name="source"/> allow; check the size against
    /// <see cref="EncodedSizeFor"/> before trusting it.
    /// </summary>
    public static MemoryTable Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, HeaderSize, nameof(source));
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(source);
        int available = (source.Length - HeaderSize) / MemoryRegion.Size;
        int stored = (int)Math.Min(Math.Min(count, (uint)MaxRegions), (uint)available);
        RegionArray regions = default;
        for (int i = 0; i < stored; i++)
        {
            regions[i] = MemoryRegion.Read(source[(HeaderSize + (i * MemoryRegion.Size))..]);
        }

        return new MemoryTable(count, stored, regions);
    }

    /// <summary>Encodes the table (count, zero padding, the regions held).</summary>
    /// <returns>The bytes written (<see cref="EncodedSize"/>).</returns>
    public int Write(Span<byte> destination)
    {
        int count = _stored;
        int size = EncodedSizeFor(count);
        PayloadChecks.Require(destination.Length, size, nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)count);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], 0);
        for (int i = 0; i < count; i++)
        {
            _regions[i].Write(destination[(HeaderSize + (i * MemoryRegion.Size))..]);
        }

        return size;
    }

    /// <summary>
    /// Whether the count is at most <see cref="MaxRegions"/> and every counted region was decoded,
    /// every region is valid, and no two regions overlap in guest physical space.
    /// </summary>
    public bool IsValid()
    {
        if (Count > MaxRegions || Count != (uint)_stored)
        {
            return false;
        }

        for (int i = 0; i < _stored; i++)
        {
            MemoryRegion a = _regions[i];
            if (!a.IsValid())
            {
                return false;
            }

            for (int j = 0; j < i; j++)
            {
                MemoryRegion b = _regions[j];
                ulong aLast = a.GuestPhysAddr + (a.MemorySize - 1);
                ulong bLast = b.GuestPhysAddr + (b.MemorySize - 1);
                if (a.GuestPhysAddr <= bLast && b.GuestPhysAddr <= aLast)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Inline storage for the regions, so a table is a plain value.</summary>
    [InlineArray(MaxRegions)]
    private struct RegionArray
    {
        private MemoryRegion _element;
    }
}
