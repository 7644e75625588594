// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>Why a received message was rejected.</summary>
public enum MessageError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The version bits of the flags are not 1. Framing error.</summary>
    BadVersion,

    /// <summary>The payload size exceeds the limit or the receive buffer. Framing error.</summary>
    PayloadTooLarge,

    /// <summary>The stream ended inside a message. Framing error.</summary>
    ShortRead,

    /// <summary>More than <c>UnixSocket.MaxFds</c> descriptors arrived (<c>MSG_CTRUNC</c>). Framing error.</summary>
    TooManyFds,

    /// <summary>
    /// The message began but its rest did not arrive within the channel's message timeout (the peer
    /// stalled half-way). Framing error.
    /// </summary>
    Stalled,

    /// <summary>A request arrived with the reply flag set.</summary>
    UnexpectedReply,

    /// <summary>The request number is not one this side knows.</summary>
    UnknownRequest,

    /// <summary>The payload size does not fit the request.</summary>
    WrongPayloadSize,

    /// <summary>The number of descriptors does not fit the request.</summary>
    WrongFdCount,

    /// <summary>The payload decodes but its <c>IsValid()</c> check fails.</summary>
    InvalidPayload,
}
