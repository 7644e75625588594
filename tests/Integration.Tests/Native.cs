// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Tests;

/// <summary>The few system calls the harness needs that the project's Sys library does not wrap.</summary>
internal static partial class Native
{
    /// <summary><c>SIGKILL</c> (Linux, every architecture we build for).</summary>
    public const int SIGKILL = 9;

    /// <summary><c>SIGTERM</c>.</summary>
    public const int SIGTERM = 15;

    /// <summary><c>SIGCONT</c> (x86-64 and arm64 numbering).</summary>
    public const int SIGCONT = 18;

    /// <summary><c>SIGSTOP</c> (x86-64 and arm64 numbering).</summary>
    public const int SIGSTOP = 19;

    /// <summary><c>kill(2)</c>; returns 0 or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
