// SPDX-License-Identifier: MIT
using System;
using System.IO;
using NUnit.Framework;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.Devices.Sound.Endpoints;

namespace VirtioLoopback.Tests.Sound;

/// <summary>
/// The libasound binding on ALSA's <c>null</c> PCM, which every libasound has and which needs no
/// sound card: probing, the stream lifecycle and the position arithmetic. The real devices run in
/// the loopback guest test (snd-aloop).
/// </summary>
[TestFixture]
public sealed class AlsaEndpointTests
{
    private static readonly PcmParams Stereo48k = new(PcmFormat.S16, Rate: 7, Channels: 2, BufferBytes: 4 * 1920, PeriodBytes: 1920);

    [Test]
    public void ThePcmsFormatsRatesAndChannels_AreProbedAtStart()
    {
        using AlsaSink sink = new("null");
        Assert.Multiple(() =>
        {
            Assert.That(sink.Formats & (1UL << PcmFormat.S16), Is.Not.Zero, "S16");
            Assert.That(sink.Rates & (1UL << 7), Is.Not.Zero, "48 kHz");
            Assert.That((sink.ChannelsMin, sink.ChannelsMax), Is.EqualTo(((byte)1, (byte)2)), "clamped to the channel maps offered");
            Assert.That(sink.Description, Does.Contain("null"));
        });
    }

    [Test]
    public void APlaybackStream_TakesFrames_AndItsPositionNeverPassesThem()
    {
        using AlsaSink sink = new("null");
        sink.Begin(Stereo48k);
        sink.Start();
        byte[] period = new byte[1920];
        int taken = sink.Write(period);
        Assert.That(taken, Is.GreaterThan(0).And.LessThanOrEqualTo(period.Length));
        Assert.That(taken % 4, Is.Zero, "whole frames");
        Assert.That(sink.Position(), Is.InRange(0, taken));
        Assert.That(sink.Until(taken), Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(10)), "looked at again within half a period");
        long stopped = sink.Stop();
        Assert.That(stopped, Is.InRange(0, taken));
        Assert.That(sink.Until(taken + 4), Is.EqualTo(System.Threading.Timeout.InfiniteTimeSpan), "a stopped stream does not move");
        sink.End();
        Assert.Throws<IOException>(() => sink.Write(period), "no stream after RELEASE");
    }

    [Test]
    public void ACaptureStream_StartsAndReadsWholeFrames()
    {
        using AlsaSource source = new("null");
        source.Begin(Stereo48k);
        source.Start();
        byte[] buffer = new byte[1920];
        int read = source.Read(buffer);
        Assert.That(read % 4, Is.Zero);
        Assert.That(source.Position(), Is.GreaterThanOrEqualTo(read));
        Assert.That(source.Discard(), Is.Zero, "ALSA keeps what the driver has no room for");
        source.End();
    }

    [Test]
    public void APcmThatDoesNotExist_IsAnErrorNamingIt()
    {
        IOException e = Assert.Throws<IOException>(() => _ = new AlsaSink("no-such-pcm"))!;
        Assert.That(e.Message, Does.Contain("no-such-pcm"));
    }
}
