// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;
using NUnit.Framework;
using VirtioLoopback.Devices.Gpio.Host;

namespace VirtioLoopback.Tests.Gpio;

/// <summary>The software chip of <c>--chip wired:N</c>: lines wired in pairs, edges on the reading side.</summary>
[TestFixture]
public sealed class WiredChipTests
{
    [Test]
    public void AnOutput_IsReadAndSeenAsEdges_OnItsPartner()
    {
        using WiredChip chip = new(3);
        Assert.That(chip.GetLineInfo(1, out HostLineInfo info), Is.EqualTo(0));
        Assert.That(info, Is.EqualTo(new HostLineInfo("wire0b", false, true)));

        using IGpioLine input = chip.Request(1, new LineSettings(HostDirection.Input, false, true), out _)!;
        using IGpioLine output = chip.Request(0, new LineSettings(HostDirection.Output, true, false), out _)!;
        Assert.That(chip.Request(0, default, out int errno), Is.Null);
        Assert.That(errno, Is.EqualTo(16), "one consumer per line");

        output.SetValue(false);
        output.SetValue(false);
        output.SetValue(true);
        Assert.That(input.GetValue(out bool level), Is.EqualTo(0));
        Assert.That(level, Is.True);
        Span<HostEdge> edges = stackalloc HostEdge[8];
        int n = input.ReadEdges(edges);
        Assert.That(n, Is.EqualTo(3), "rising at the request, falling, rising; a repeated level is no edge");
        Assert.That((edges[0].Rising, edges[1].Rising, edges[2].Rising), Is.EqualTo((true, false, true)));
        Assert.That((edges[0].LineSeqno, edges[2].LineSeqno), Is.EqualTo((1u, 3u)));
        Assert.That((double)edges[2].TimestampNs, Is.EqualTo((double)Stopwatch.GetTimestamp()).Within(1e9), "stamped on the monotonic clock, in ns");
        Assert.That(input.ReadEdges(edges), Is.EqualTo(0));

        output.Dispose();
        Assert.That(input.ReadEdges(edges), Is.EqualTo(1), "a released output stops driving: falling");
        Assert.That(edges[0].Rising, Is.False);

        using IGpioLine lonely = chip.Request(2, new LineSettings(HostDirection.Input, false, true), out _)!;
        lonely.GetValue(out bool low);
        Assert.That(low, Is.False, "the odd last line has no partner: low");
    }

    [Test]
    public void AFullRing_DropsTheOldest_LeavingAGapInTheNumbers()
    {
        using WiredChip chip = new(2);
        using IGpioLine input = chip.Request(1, new LineSettings(HostDirection.Input, false, true), out _)!;
        using IGpioLine output = chip.Request(0, new LineSettings(HostDirection.Output, false, false), out _)!;
        for (int i = 0; i < 100; i++)
        {
            output.SetValue(i % 2 == 0);
        }

        Span<HostEdge> edges = stackalloc HostEdge[100];
        int n = input.ReadEdges(edges);
        Assert.That(n, Is.EqualTo(64));
        Assert.That((edges[0].LineSeqno, edges[63].LineSeqno), Is.EqualTo((37u, 100u)));
    }
}
