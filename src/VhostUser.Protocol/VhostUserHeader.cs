// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// The 12-byte message header: request, flags, payload size (little-endian; the spec says "native",
/// and every target of this project is little-endian).
/// </summary>
public readonly struct VhostUserHeader : IEquatable<VhostUserHeader>
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 12;

    /// <summary>Flags bits 0-1: the protocol version.</summary>
    public const uint VersionMask = 0x3;

    /// <summary>The only protocol version.</summary>
    public const uint Version1 = 0x1;

    /// <summary>Flags bit 2: this message is a reply.</summary>
    public const uint ReplyFlag = 0x4;

    /// <summary>Flags bit 3: the sender wants an acknowledgement (<c>REPLY_ACK</c>).</summary>
    public const uint NeedReplyFlag = 0x8;

    /// <summary>Creates a header from raw fields.</summary>
    public VhostUserHeader(uint request, uint flags, uint payloadSize)
    {
        Request = request;
        Flags = flags;
        PayloadSize = payloadSize;
    }

    /// <summary>The request number (<see cref="FrontendRequest"/> or <see cref="BackendRequest"/>, by channel).</summary>
    public uint Request { get; }

    /// <summary>The raw flags word.</summary>
    public uint Flags { get; }

    /// <summary>The payload size in bytes that follows the header.</summary>
    public uint PayloadSize { get; }

    /// <summary>The version bits of <see cref="Flags"/>.</summary>
    public uint Version => Flags & VersionMask;

    /// <summary>Whether the version bits say 1, the only version there is.</summary>
    public bool HasValidVersion => Version == Version1;

    /// <summary>Whether the reply bit is set.</summary>
    public bool IsReply => (Flags & ReplyFlag) != 0;

    /// <summary>Whether the need-reply bit is set.</summary>
    public bool NeedsReply => (Flags & NeedReplyFlag) != 0;

    /// <summary><see cref="Request"/> as a front-end request.</summary>
    public FrontendRequest FrontendRequest => (FrontendRequest)Request;

    /// <summary><see cref="Request"/> as a back-end request.</summary>
    public BackendRequest BackendRequest => (BackendRequest)Request;

    /// <summary>A version-1 request header.</summary>
    public static VhostUserHeader ForRequest(uint request, int payloadSize, bool needReply) =>
        new(request, Version1 | (needReply ? NeedReplyFlag : 0), checked((uint)payloadSize));

    /// <summary>A version-1 front-end request header.</summary>
    public static VhostUserHeader ForRequest(FrontendRequest request, int payloadSize, bool needReply) =>
        ForRequest((uint)request, payloadSize, needReply);

    /// <summary>A version-1 reply header for <paramref name="request"/>.</summary>
    public static VhostUserHeader ForReply(uint request, int payloadSize) =>
        new(request, Version1 | ReplyFlag, checked((uint)payloadSize));

    /// <summary>Decodes a header from the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VhostUserHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new ArgumentException($"A header needs {Size} bytes.", nameof(source));
        }

        return new VhostUserHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]));
    }

    /// <summary>Encodes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"A header needs {Size} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, Request);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], PayloadSize);
    }

    /// <summary>Whether the version bits are 1 (the only check that does not depend on the request).</summary>
    public bool IsValid() => HasValidVersion;

    /// <inheritdoc />
    public bool Equals(VhostUserHeader other) => Request == other.Request && Flags == other.Flags && PayloadSize == other.PayloadSize;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is VhostUserHeader other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Request, Flags, PayloadSize);

    /// <inheritdoc />
    public override string ToString() => $"request={Request} flags=0x{Flags:x} size={PayloadSize}";

    /// <summary>Field-wise equality.</summary>
    public static bool operator ==(VhostUserHeader left, VhostUserHeader right) => left.Equals(right);

    /// <summary>Field-wise inequality.</summary>
    public static bool operator !=(VhostUserHeader left, VhostUserHeader right) => !left.Equals(right);
}
