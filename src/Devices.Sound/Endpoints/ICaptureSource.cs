// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>Where a capture stream's frames come from: a file today, an ALSA device later.</summary>
public interface ICaptureSource : IDisposable
{
    /// <summary>What the source is, for logs.</summary>
    string Description { get; }

    /// <summary>The one VIRTIO_SND_PCM_FMT the source delivers.</summary>
    byte Format { get; }

    /// <summary>The one VIRTIO_SND_PCM_RATE index the source delivers.</summary>
    byte Rate { get; }

    /// <summary>The source's channels.</summary>
    byte Channels { get; }

    /// <summary>A stream was prepared: capture starts from the beginning.</summary>
    void Begin();

    /// <summary>Fills <paramref name="frames"/> with the next frames (silence past the end).</summary>
    /// <exception cref="System.IO.IOException">The source failed.</exception>
    void Read(Span<byte> frames);

    /// <summary>Drops <paramref name="bytes"/> bytes of frames nobody took (an overrun).</summary>
    void Skip(long bytes);
}
