// SPDX-License-Identifier: MIT
using System;
using System.IO;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>A vhost-user protocol failure: a negative acknowledgement, an unexpected or malformed reply.</summary>
public class VhostUserException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public VhostUserException()
        : base("vhost-user protocol error.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public VhostUserException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and <paramref name="innerException"/>.</summary>
    public VhostUserException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
