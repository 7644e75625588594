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

    /// <summary>Drops the frames captured so far: the driver gave nowhere to put them (an overrun).</summary>
    /// <returns>The bytes dropped.</returns>
    long Discard();
}
