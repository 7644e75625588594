// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>"Log description" (<c>VhostUserLog</c>) of <c>SET_LOG_BASE</c>: size and offset of the dirty log in its fd.</summary>
/// <param name="MmapSize">Size of the log area.</param>
/// <param name="MmapOffset">Offset of the log in the fd.</param>
public readonly record struct LogDescription(ulong MmapSize, ulong MmapOffset)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 16;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static LogDescription Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new LogDescription(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, MmapSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], MmapOffset);
    }

    /// <summary>Whether the log is non-empty and its range does not wrap.</summary>
    public bool IsValid() => MmapSize != 0 && MmapOffset <= long.MaxValue && MmapSize <= ulong.MaxValue - MmapOffset;
}
