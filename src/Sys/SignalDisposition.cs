// SPDX-License-Identifier: MIT
using System;
using System.Globalization;
using System.IO;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>What the process does on a signal before a handler of its own is installed.</summary>
public static class SignalDisposition
{
    private const nint SigDfl = 0;
    private const nint SigErr = -1;

    /// <summary>
    /// Sets <paramref name="signal"/> back to its default action if the process inherited it as
    /// ignored. A parent can pass a signal on ignored (<c>nohup</c> does so with SIGHUP), and the .NET
    /// runtime then keeps it ignored even when a handler is registered: the handler never runs. Call
    /// it before registering; a signal that is not ignored is left alone, so a handler already
    /// installed stays.
    /// </summary>
    /// <param name="signal">The signal number (1 to 64).</param>
    /// <returns>True when the signal was ignored and now has its default action.</returns>
    public static bool RestoreIfIgnored(int signal)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(signal, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(signal, 64);
        if ((IgnoredMask() & (1UL << (signal - 1))) == 0)
        {
            return false;
        }

        if (NativeMethods.signal(signal, SigDfl) == SigErr)
        {
            Errno.Throw("signal");
        }

        return true;
    }

    /// <summary>The <c>SigIgn</c> mask of <c>/proc/self/status</c>; 0 without /proc.</summary>
    private static ulong IgnoredMask()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                {
                    return ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
