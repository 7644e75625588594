// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VirtioLoopback.Sys;

/// <summary>A failed system call: the call's name and its errno.</summary>
public sealed class SysException : IOException
{
    /// <summary>Creates the exception for <paramref name="call"/> failing with <paramref name="errno"/>.</summary>
    public SysException(string call, int errno)
        : base($"{call}: {Sys.Errno.Describe(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>Creates an exception with a message only (errno 0).</summary>
    public SysException()
        : this("unknown", 0)
    {
    }

    /// <summary>Creates an exception with a message only (errno 0).</summary>
    public SysException(string message)
        : base(message)
    {
        Call = string.Empty;
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public SysException(string message, Exception innerException)
        : base(message, innerException)
    {
        Call = string.Empty;
    }

    /// <summary>The failing system call, for example <c>mmap</c>.</summary>
    public string Call { get; }

    /// <summary>The errno value.</summary>
    public int Errno { get; }
}

/// <summary>
/// errno, read one way: <see cref="Marshal.GetLastPInvokeError"/>, the value saved right after a
/// call declared with <c>SetLastError</c> (every call this project makes through Sys). Throwing
/// stays out of line so callers' hot paths stay small.
/// </summary>
public static class Errno
{
    /// <summary><c>ETIMEDOUT</c>: a wait passed its deadline.</summary>
    public const int TimedOut = 110;

    /// <summary><c>ECANCELED</c>: a wait was cancelled (a shutdown was requested).</summary>
    public const int Canceled = 125;

    /// <summary>The errno of the calling thread's last P/Invoke declared with <c>SetLastError</c>.</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    /// <summary>Throws a <see cref="SysException"/> for <paramref name="call"/> with <see cref="Last"/>.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(string call) => throw new SysException(call, Last);

    /// <summary>Throws a <see cref="SysException"/> for <paramref name="call"/> with <paramref name="errno"/>.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(string call, int errno) => throw new SysException(call, errno);

    /// <summary>The C library's text for <paramref name="errno"/>.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
