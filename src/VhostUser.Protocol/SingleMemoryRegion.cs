// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// "Single memory region description" (<c>VhostUserMemRegMsg</c>) of <c>ADD_MEM_REG</c> and
/// <c>REM_MEM_REG</c>: 8 bytes of padding, then one <see cref="MemoryRegion"/>.
/// </summary>
/// <param name="Region">The region.</param>
public readonly record struct SingleMemoryRegion(MemoryRegion Region)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 8 + MemoryRegion.Size;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/> (the padding is ignored).</summary>
    public static SingleMemoryRegion Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new SingleMemoryRegion(MemoryRegion.Read(source[8..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/> (zero padding).</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, 0);
        Region.Write(destination[8..]);
    }

    /// <summary>Whether the region is valid (<see cref="MemoryRegion.IsValid"/>).</summary>
    public bool IsValid() => Region.IsValid();
}
