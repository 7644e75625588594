// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>The peer hung up (end of stream, <c>EPIPE</c> or <c>ECONNRESET</c>), or the connection was already closed.</summary>
public sealed class VhostUserDisconnectedException : VhostUserException
{
    /// <summary>Creates the exception with a default message.</summary>
    public VhostUserDisconnectedException()
        : base("The vhost-user peer disconnected.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public VhostUserDisconnectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and <paramref name="innerException"/>.</summary>
    public VhostUserDisconnectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
