// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>Where a playback stream's frames go: a file today, an ALSA device later, behind one interface.</summary>
public interface IPlaybackSink : IDisposable
{
    /// <summary>What the sink is, for logs.</summary>
    string Description { get; }

    /// <summary>The VIRTIO_SND_PCM_FMT bit map the sink takes.</summary>
    ulong Formats { get; }

    /// <summary>The VIRTIO_SND_PCM_RATE bit map the sink takes.</summary>
    ulong Rates { get; }

    /// <summary>The fewest channels the sink takes.</summary>
    byte ChannelsMin { get; }

    /// <summary>The most channels the sink takes.</summary>
    byte ChannelsMax { get; }

    /// <summary>A stream was prepared with <paramref name="parameters"/> (already checked against the above).</summary>
    void Begin(PcmParams parameters);

    /// <summary>Plays whole frames.</summary>
    /// <exception cref="System.IO.IOException">The sink failed.</exception>
    void Write(ReadOnlySpan<byte> frames);

    /// <summary>Plays <paramref name="bytes"/> bytes of silence (an underrun the device bridged).</summary>
    /// <exception cref="System.IO.IOException">The sink failed.</exception>
    void WriteSilence(long bytes);

    /// <summary>The stream stopped or was released: make what was played durable and complete.</summary>
    void Flush();
}
