// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>The status of a receive and, for <see cref="ReceiveStatus.Malformed"/>, the reason.</summary>
/// <param name="Status">The status.</param>
/// <param name="Error">The reason a message was rejected; <see cref="MessageError.None"/> otherwise.</param>
public readonly record struct ReceiveResult(ReceiveStatus Status, MessageError Error)
{
    /// <summary>A well-formed message.</summary>
    public static ReceiveResult Message => new(ReceiveStatus.Message, MessageError.None);

    /// <summary>End of stream.</summary>
    public static ReceiveResult Closed => new(ReceiveStatus.Closed, MessageError.None);

    /// <summary>Nothing to read on a non-blocking socket.</summary>
    public static ReceiveResult WouldBlock => new(ReceiveStatus.WouldBlock, MessageError.None);

    /// <summary>A rejected message.</summary>
    public static ReceiveResult Malformed(MessageError error) => new(ReceiveStatus.Malformed, error);

    /// <summary>
    /// Whether the byte stream is still aligned on a message boundary. False after a framing error
    /// (bad version, oversize, short read, too many fds, a stalled message): nothing more can be read reliably and the
    /// connection must be closed. True after a rule violation: the whole message was consumed.
    /// </summary>
    public bool StreamIntact => Error is not (MessageError.BadVersion or MessageError.PayloadTooLarge
        or MessageError.ShortRead or MessageError.TooManyFds or MessageError.Stalled);
}
