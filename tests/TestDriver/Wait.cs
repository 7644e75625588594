// SPDX-License-Identifier: MIT
using System;
using System.Threading;

namespace VirtioLoopback.TestDriver;

/// <summary>Polling for conditions that other threads make true.</summary>
public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> every 2 ms; false when it is still false after <paramref name="timeoutMs"/>.</summary>
    public static bool Until(Func<bool> condition, int timeoutMs = 5000)
    {
        ArgumentNullException.ThrowIfNull(condition);
        long deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            Thread.Sleep(2);
        }

        return true;
    }
}
