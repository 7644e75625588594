// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>Where a capture stream's frames come from.</summary>
public interface ICaptureSource : IPcmEndpoint
{
    /// <summary>Takes the frames captured so far, up to <c>frames.Length</c>.</summary>
    /// <returns>The bytes taken, whole frames.</returns>
    /// <exception cref="System.IO.IOException">The source failed.</exception>
    int Read(Span<byte> frames);

    /// <summary>
    /// The driver gave nowhere to put frames for a while: drops those the endpoint's buffer cannot
    /// hold any more (an overrun). Before the first frame of a run, the clock starts over instead.
    /// </summary>
    /// <returns>The bytes dropped.</returns>
    long Discard();
}
