// SPDX-License-Identifier: MIT
using System;
using System.Threading;

namespace VirtioLoopback.Hid.Htt;

/// <summary>Time for the waits after a set: the real monotonic clock, or a fake in tests.</summary>
public interface IClock
{
    /// <summary>Milliseconds on a monotonic clock.</summary>
    long NowMs { get; }

    /// <summary>Waits <paramref name="ms"/> milliseconds.</summary>
    void Sleep(int ms);
}

/// <summary>The monotonic system clock.</summary>
public sealed class SystemClock : IClock
{
    /// <summary>The one instance.</summary>
    public static SystemClock Instance { get; } = new();

    /// <inheritdoc />
    public long NowMs => Environment.TickCount64;

    /// <inheritdoc />
    public void Sleep(int ms) => Thread.Sleep(ms);
}
