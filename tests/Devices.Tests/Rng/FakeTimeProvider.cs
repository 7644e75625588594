// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Tests.Rng;

/// <summary>A clock that moves only when told to (timestamps in nanoseconds).</summary>
internal sealed class FakeTimeProvider : TimeProvider
{
    private long _now = 1_000_000_000;

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => _now;

    public void Advance(TimeSpan by) => _now += by.Ticks * 100;
}
