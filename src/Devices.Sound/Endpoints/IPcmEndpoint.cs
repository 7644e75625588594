// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// The host side of a stream, with its own clock: a WAV file paced by the host's monotonic clock, or
/// an ALSA device paced by its hardware. The device completes the driver's messages by this clock.
/// </summary>
/// <remarks>Positions count sample bytes since <see cref="Begin"/>.</remarks>
public interface IPcmEndpoint : IDisposable
{
    /// <summary>What the endpoint is, for logs.</summary>
    string Description { get; }

    /// <summary>The VIRTIO_SND_PCM_FMT bit map it takes.</summary>
    ulong Formats { get; }

    /// <summary>The VIRTIO_SND_PCM_RATE bit map it takes.</summary>
    ulong Rates { get; }

    /// <summary>The fewest channels.</summary>
    byte ChannelsMin { get; }

    /// <summary>The most channels.</summary>
    byte ChannelsMax { get; }

    /// <summary>Xruns the endpoint itself recovered from in this run (an ALSA device's underruns and overruns).</summary>
    int Xruns { get; }

    /// <summary>PREPARE: set up for <paramref name="parameters"/> (already checked against the above); position 0.</summary>
    /// <exception cref="System.IO.IOException">The endpoint cannot take them.</exception>
    void Begin(PcmParams parameters);

    /// <summary>START, or a resume after <see cref="Stop"/>: the clock runs.</summary>
    void Start();

    /// <summary>STOP: the clock pauses; frames handed over but not yet played are dropped.</summary>
    /// <returns>The position at which it stopped.</returns>
    long Stop();

    /// <summary>RELEASE: frames not yet played are dropped; what was played is made durable.</summary>
    void End();

    /// <summary>Bytes played (playback) or captured (capture) so far by the endpoint's clock.</summary>
    /// <exception cref="System.IO.IOException">The endpoint failed.</exception>
    long Position();

    /// <summary>About how long until <see cref="Position"/> reaches <paramref name="position"/>, capped at how long the endpoint may be left alone.</summary>
    TimeSpan Until(long position);
}
