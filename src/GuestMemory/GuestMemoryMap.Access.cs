// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.GuestMemory;

/// <summary>Little-endian accessors for ring fields (virtio 1.x rings are little-endian).</summary>
public sealed partial class GuestMemoryMap
{
    /// <summary>Reads a little-endian 16-bit value at <paramref name="gpa"/>; false when it is not guest memory.</summary>
    public bool TryReadU16(ulong gpa, out ushort value)
    {
        if (TryGetSpan(gpa, sizeof(ushort), out Span<byte> span))
        {
            value = BinaryPrimitives.ReadUInt16LittleEndian(span);
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Reads a little-endian 32-bit value at <paramref name="gpa"/>; false when it is not guest memory.</summary>
    public bool TryReadU32(ulong gpa, out uint value)
    {
        if (TryGetSpan(gpa, sizeof(uint), out Span<byte> span))
        {
            value = BinaryPrimitives.ReadUInt32LittleEndian(span);
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Reads a little-endian 64-bit value at <paramref name="gpa"/>; false when it is not guest memory.</summary>
    public bool TryReadU64(ulong gpa, out ulong value)
    {
        if (TryGetSpan(gpa, sizeof(ulong), out Span<byte> span))
        {
            value = BinaryPrimitives.ReadUInt64LittleEndian(span);
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Writes a little-endian 16-bit value at <paramref name="gpa"/>; false when it is not guest memory.</summary>
    public bool TryWriteU16(ulong gpa, ushort value)
    {
        if (TryGetSpan(gpa, sizeof(ushort), out Span<byte> span))
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span, value);
            return true;
        }

        return false;
    }

    /// <summary>Writes a little-endian 32-bit value at <paramref name="gpa"/>; false when it is not guest memory.</summary>
    public bool TryWriteU32(ulong gpa, uint value)
    {
        if (TryGetSpan(gpa, sizeof(uint), out Span<byte> span))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span, value);
            return true;
        }

        return false;
    }

    /// <summary>Writes a little-endian 64-bit value at <paramref name="gpa"/>; false when it is not guest memory.</summary>
    public bool TryWriteU64(ulong gpa, ulong value)
    {
        if (TryGetSpan(gpa, sizeof(ulong), out Span<byte> span))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span, value);
            return true;
        }

        return false;
    }
}
