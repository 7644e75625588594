// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>The "single 64-bit integer" payload: features, status, queue counts, acknowledgements.</summary>
/// <param name="Value">The value.</param>
public readonly record struct U64Payload(ulong Value)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 8;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static U64Payload Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, Size, nameof(source));
        return new U64Payload(BinaryPrimitives.ReadUInt64LittleEndian(source));
    }

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Value);
    }

    /// <summary>Always true: every value is well-formed; meaning depends on the request.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Instance member like every payload's IsValid.")]
    public bool IsValid() => true;
}
