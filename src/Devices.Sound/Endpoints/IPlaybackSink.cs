// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>Where a playback stream's frames go.</summary>
public interface IPlaybackSink : IPcmEndpoint
{
    /// <summary>Hands over whole frames; takes what fits now (a file: what its clock has reached; ALSA: what its buffer holds).</summary>
    /// <returns>The bytes taken, whole frames.</returns>
    /// <exception cref="System.IO.IOException">The sink failed.</exception>
    int Write(ReadOnlySpan<byte> frames);

    /// <summary>
    /// The stream ran dry: the clock passed the last frame handed over by <paramref name="bytes"/>.
    /// A file records that much silence, as a sound card would play it; before the first frame, the
    /// clock starts over instead.
    /// </summary>
    /// <returns>The bytes of silence the stream's position moved on by.</returns>
    long Underrun(long bytes);
}
