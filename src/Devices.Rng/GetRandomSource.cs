// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Rng;

/// <summary>Entropy from <c>getrandom(2)</c>, the default source.</summary>
/// <remarks>
/// Flags are 0 on purpose (<see cref="FileIo.GetRandom"/>): <c>GRND_NONBLOCK</c> would hand out
/// nothing before the kernel's pool is seeded, and unseeded output is worse than a short wait on
/// this queue's own worker at early boot.
/// </remarks>
public sealed class GetRandomSource : IEntropySource
{
    /// <summary>The last failure, or null when the last fill succeeded.</summary>
    public SysException? LastError { get; private set; }

    /// <inheritdoc />
    public int Fill(Span<byte> destination)
    {
        try
        {
            FileIo.GetRandom(destination);
        }
        catch (SysException e)
        {
            // getrandom only fails for a bad buffer or a missing system call; report it and give nothing.
            LastError = e;
            return 0;
        }

        LastError = null;
        return destination.Length;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
