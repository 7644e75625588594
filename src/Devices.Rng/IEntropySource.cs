// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Rng;

/// <summary>Where the rng device's bytes come from.</summary>
/// <remarks>Called on the request queue's worker thread only; implementations need no locking.</remarks>
public interface IEntropySource : IDisposable
{
    /// <summary>
    /// Fills as much of <paramref name="destination"/> as the source can give now and returns the
    /// number of bytes written. A result below <c>destination.Length</c> means the source failed
    /// (it has already logged why); the caller completes the request with what it got.
    /// </summary>
    int Fill(Span<byte> destination);
}
