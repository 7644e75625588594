// SPDX-License-Identifier: MIT
using System;
using System.IO;

namespace VirtioLoopback.Sys;

/// <summary>
/// A received message carried more file descriptors than <see cref="UnixSocket.MaxFds"/>
/// (<c>MSG_CTRUNC</c>). The descriptors that did arrive have been closed; the byte stream can no
/// longer be trusted, so the connection should be dropped.
/// </summary>
public sealed class TooManyFdsException : IOException
{
    /// <summary>Creates the exception with the default message.</summary>
    public TooManyFdsException()
        : base($"The peer sent more than {UnixSocket.MaxFds} file descriptors in one message.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public TooManyFdsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and <paramref name="innerException"/>.</summary>
    public TooManyFdsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
