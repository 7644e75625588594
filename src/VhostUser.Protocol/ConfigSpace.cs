// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// The header of the "virtio device config space" payload (<c>VhostUserConfig</c>) of
/// <c>GET_CONFIG</c>/<c>SET_CONFIG</c>: offset, size, flags; <c>Size</c> bytes of config data follow.
/// </summary>
/// <param name="Offset">Offset into the device config space.</param>
/// <param name="Size">Number of config bytes that follow the header.</param>
/// <param name="Flags"><see cref="FlagWritable"/> or <see cref="FlagLiveMigration"/>.</param>
public readonly record struct ConfigSpace(uint Offset, uint Size, uint Flags)
{
    /// <summary>Encoded header size in bytes (<c>VHOST_USER_CONFIG_HDR_SIZE</c>).</summary>
    public const int HeaderSize = 12;

    /// <summary><c>VHOST_USER_MAX_CONFIG_SIZE</c>: the most config bytes one message carries.</summary>
    public const int MaxDataSize = 256;

    /// <summary>The largest payload: header plus <see cref="MaxDataSize"/> bytes.</summary>
    public const int MaxSize = HeaderSize + MaxDataSize;

    /// <summary><c>VHOST_SET_CONFIG_TYPE_FRONTEND</c>: a driver write to a writable field.</summary>
    public const uint FlagWritable = 0;

    /// <summary><c>VHOST_SET_CONFIG_TYPE_MIGRATION</c>: restoring state after live migration.</summary>
    public const uint FlagLiveMigration = 1;

    /// <summary>The payload length this header announces.</summary>
    public int EncodedSize => HeaderSize + (int)Math.Min(Size, MaxDataSize);

    /// <summary>Decodes the header from the first <see cref="HeaderSize"/> bytes of <paramref name="source"/>.</summary>
    public static ConfigSpace Read(ReadOnlySpan<byte> source)
    {
        PayloadChecks.Require(source.Length, HeaderSize, nameof(source));
        return new ConfigSpace(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]));
    }

    /// <summary>The config bytes that follow the header in <paramref name="payload"/> (exactly <c>Size</c> bytes).</summary>
    /// <exception cref="ArgumentException">The payload is shorter than the header announces.</exception>
    public ReadOnlySpan<byte> GetData(ReadOnlySpan<byte> payload)
    {
        PayloadChecks.Require(payload.Length, EncodedSize, nameof(payload));
        return payload.Slice(HeaderSize, (int)Size);
    }

    /// <summary>Encodes the header into the first <see cref="HeaderSize"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        PayloadChecks.Require(destination.Length, HeaderSize, nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Size);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Flags);
    }

    /// <summary>Encodes header and <paramref name="data"/> (whose length must equal <c>Size</c>).</summary>
    /// <returns>The bytes written.</returns>
    public int Write(Span<byte> destination, ReadOnlySpan<byte> data)
    {
        if ((uint)data.Length != Size)
        {
            throw new ArgumentException("The data length must equal Size.", nameof(data));
        }

        PayloadChecks.Require(destination.Length, EncodedSize, nameof(destination));
        Write(destination);
        data.CopyTo(destination[HeaderSize..]);
        return EncodedSize;
    }

    /// <summary>
    /// Whether the size is at most <see cref="MaxDataSize"/>, the range lies inside the first
    /// <see cref="MaxDataSize"/> bytes of config space, and the flags are known.
    /// </summary>
    public bool IsValid() =>
        Size <= MaxDataSize
        && Offset <= MaxDataSize - Size
        && Flags <= FlagLiveMigration;
}
