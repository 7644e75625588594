// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Sys;

/// <summary>
/// The moment a wait must end, on the monotonic clock. A wait interrupted by a signal (<c>EINTR</c>)
/// goes on with <see cref="RemainingMs"/>, never with its first timeout again: under a signal every
/// millisecond a restarted timeout would never run out.
/// </summary>
public readonly struct Deadline
{
    private readonly long _at;

    private Deadline(long at) => _at = at;

    /// <summary>A deadline that never passes.</summary>
    public static Deadline Infinite => new(long.MaxValue);

    /// <summary>Whether the deadline never passes.</summary>
    public bool IsInfinite => _at == long.MaxValue;

    /// <summary>Whether the deadline has passed.</summary>
    public bool HasPassed => !IsInfinite && Environment.TickCount64 >= _at;

    /// <summary>The milliseconds left, for a system call's timeout: -1 when infinite, 0 once passed.</summary>
    public int RemainingMs
    {
        get
        {
            if (IsInfinite)
            {
                return -1;
            }

            long left = _at - Environment.TickCount64;
            return left <= 0 ? 0 : (int)Math.Min(left, int.MaxValue);
        }
    }

    /// <summary>The deadline <paramref name="timeoutMs"/> milliseconds from now; a negative timeout is infinite.</summary>
    public static Deadline After(int timeoutMs) =>
        timeoutMs < 0 ? Infinite : new(Environment.TickCount64 + timeoutMs);

    /// <summary>The deadline <paramref name="timeout"/> from now; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> is infinite.</summary>
    public static Deadline After(TimeSpan timeout) =>
        timeout < TimeSpan.Zero ? Infinite : new(Environment.TickCount64 + (long)Math.Min(timeout.TotalMilliseconds, long.MaxValue / 2));

    /// <summary>The earlier of two deadlines.</summary>
    public static Deadline Min(Deadline a, Deadline b) => a._at <= b._at ? a : b;
}
