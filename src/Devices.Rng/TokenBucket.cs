// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Rng;

/// <summary>
/// A byte budget of <see cref="Capacity"/> per <see cref="Period"/>: the bucket is refilled to full
/// at the start of each period and never holds more than one period's worth, so no aligned period
/// ever gives more than <see cref="Capacity"/> bytes (QEMU's <c>max-bytes</c>/<c>period</c> semantics).
/// </summary>
/// <remarks>Not thread-safe: one queue's worker owns it.</remarks>
public sealed class TokenBucket
{
    private readonly TimeProvider _time;
    private readonly long _periodTicks;
    private long _windowStart;
    private long _available;

    /// <summary>Creates a full bucket of <paramref name="capacity"/> bytes per <paramref name="period"/>.</summary>
    /// <param name="capacity">Bytes per period, at least 1.</param>
    /// <param name="period">The refill period, at least one millisecond.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null (tests pass a fake).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public TokenBucket(long capacity, TimeSpan period, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.FromMilliseconds(1));
        _time = timeProvider ?? TimeProvider.System;
        double ticks = Math.Ceiling(period.Ticks * (double)_time.TimestampFrequency / TimeSpan.TicksPerSecond);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ticks, long.MaxValue / 4, nameof(period));
        _periodTicks = Math.Max(1, (long)ticks);
        Capacity = capacity;
        Period = period;
        _windowStart = _time.GetTimestamp();
        _available = capacity;
    }

    /// <summary>Bytes per period.</summary>
    public long Capacity { get; }

    /// <summary>The refill period.</summary>
    public TimeSpan Period { get; }

    /// <summary>Bytes that may be given now (refilling first if a period boundary has passed).</summary>
    public long Available
    {
        get
        {
            Refill();
            return _available;
        }
    }

    /// <summary>
    /// How long until the next refill when the bucket is empty; <see cref="TimeSpan.Zero"/> when bytes
    /// are available now. Rounded up, so a timer armed for it never fires early.
    /// </summary>
    public TimeSpan TimeUntilRefill
    {
        get
        {
            Refill();
            if (_available > 0)
            {
                return TimeSpan.Zero;
            }

            long remaining = _windowStart + _periodTicks - _time.GetTimestamp();
            double spanTicks = Math.Ceiling(remaining * (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency);
            return TimeSpan.FromTicks(Math.Max(1, (long)spanTicks));
        }
    }

    /// <summary>Takes up to <paramref name="wanted"/> bytes and returns how many were granted.</summary>
    public long Take(long wanted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(wanted);
        Refill();
        long granted = Math.Min(wanted, _available);
        _available -= granted;
        return granted;
    }

    private void Refill()
    {
        long elapsed = _time.GetTimestamp() - _windowStart;
        if (elapsed >= _periodTicks)
        {
            // Skip whole periods that passed idle: the budget does not accumulate beyond one period.
            _windowStart += elapsed / _periodTicks * _periodTicks;
            _available = Capacity;
        }
    }
}
