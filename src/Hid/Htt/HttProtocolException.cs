// SPDX-License-Identifier: MIT
using System;
using System.IO;

namespace VirtioLoopback.Hid.Htt;

/// <summary>The display answered, but not as the protocol says (short or wrong report).</summary>
public sealed class HttProtocolException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HttProtocolException()
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public HttProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public HttProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
