// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.Devices.Rng;

namespace VirtioLoopback.Tests.Rng;

[TestFixture]
public sealed class TokenBucketTests
{
    [Test]
    public void GrantsAtMostCapacityPerPeriod()
    {
        FakeTimeProvider clock = new();
        TokenBucket bucket = new(100, TimeSpan.FromMilliseconds(1000), clock);
        Assert.That(bucket.Take(60), Is.EqualTo(60));
        Assert.That(bucket.Take(60), Is.EqualTo(40));
        Assert.That(bucket.Take(1), Is.Zero);
        Assert.That(bucket.Available, Is.Zero);
    }

    [Test]
    public void TimeUntilRefill_CountsDownToTheNextPeriod()
    {
        FakeTimeProvider clock = new();
        TokenBucket bucket = new(10, TimeSpan.FromMilliseconds(1000), clock);
        Assert.That(bucket.TimeUntilRefill, Is.EqualTo(TimeSpan.Zero));
        bucket.Take(10);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.That(bucket.TimeUntilRefill, Is.EqualTo(TimeSpan.FromMilliseconds(700)));
        clock.Advance(TimeSpan.FromMilliseconds(699));
        Assert.That(bucket.Available, Is.Zero);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(bucket.Available, Is.EqualTo(10));
    }

    [Test]
    public void IdlePeriods_DoNotAccumulate()
    {
        FakeTimeProvider clock = new();
        TokenBucket bucket = new(10, TimeSpan.FromMilliseconds(100), clock);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(bucket.Take(1000), Is.EqualTo(10));

        // The window realigned to whole periods: 5 s is exactly 50 periods, so the next refill is 100 ms away.
        Assert.That(bucket.TimeUntilRefill, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
    }

    [Test]
    public void RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TokenBucket(0, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TokenBucket(1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(1, TimeSpan.FromSeconds(1)).Take(-1));
    }
}
