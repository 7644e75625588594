// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>The outcome of <see cref="VhostUserChannel.TryReceive(out VhostUserHeader, System.Span{byte}, System.Collections.Generic.List{VirtioLoopback.Sys.FileDescriptor})"/>.</summary>
public enum ReceiveStatus
{
    /// <summary>A complete, well-formed message.</summary>
    Message,

    /// <summary>The peer closed the connection between messages.</summary>
    Closed,

    /// <summary>The message was rejected; see <see cref="ReceiveResult.Error"/>. Its fds are already closed.</summary>
    Malformed,

    /// <summary>The socket is non-blocking and no message has started to arrive.</summary>
    WouldBlock,
}
