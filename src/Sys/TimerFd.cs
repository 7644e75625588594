// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>
/// A <c>timerfd</c> on <c>CLOCK_MONOTONIC</c>, non-blocking and close-on-exec, so timers can sit in an
/// epoll set next to the queue eventfds (the rng device uses one to pace its output).
/// </summary>
public sealed unsafe class TimerFd : IDisposable
{
    private const long NanosecondsPerTick = 100;
    private const long NanosecondsPerSecond = 1_000_000_000;

    private TimerFd(FileDescriptor handle) => Handle = handle;

    /// <summary>The timer descriptor (readable when it has expired at least once).</summary>
    public FileDescriptor Handle { get; }

    /// <summary>Creates a disarmed monotonic timer.</summary>
    public static TimerFd CreateMonotonic()
    {
        int fd = NativeMethods.timerfd_create(NativeMethods.CLOCK_MONOTONIC, NativeMethods.TFD_NONBLOCK | NativeMethods.TFD_CLOEXEC);
        if (fd < 0)
        {
            Errno.Throw("timerfd_create");
        }

        return new TimerFd(FileDescriptor.Adopt(fd));
    }

    /// <summary>
    /// Arms the timer: first expiry after <paramref name="initial"/>, then every <paramref name="interval"/>
    /// (<see cref="TimeSpan.Zero"/> for a one-shot timer). A zero <paramref name="initial"/> fires at once
    /// (the kernel would read zero as "disarm", so it is sent as one nanosecond).
    /// </summary>
    public void Arm(TimeSpan initial, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        NativeMethods.ITimerSpec spec = default;
        spec.Value = ToTimeSpec(initial);
        if (spec.Value.Seconds == 0 && spec.Value.Nanoseconds == 0)
        {
            spec.Value.Nanoseconds = 1;
        }

        spec.Interval = ToTimeSpec(interval);
        SetTime(&spec);
    }

    /// <summary>Stops the timer; pending expirations are discarded by the kernel.</summary>
    public void Disarm()
    {
        NativeMethods.ITimerSpec spec = default;
        SetTime(&spec);
    }

    /// <summary>Reads and resets the expiration count.</summary>
    /// <returns><see langword="false"/> when the timer has not expired since the last read.</returns>
    public bool TryRead(out ulong expirations) => EventFd.TryReadCounter(Handle, out expirations);

    /// <summary>Closes the timer.</summary>
    public void Dispose() => Handle.Dispose();

    private static NativeMethods.TimeSpec ToTimeSpec(TimeSpan value)
    {
        long ns = value.Ticks * NanosecondsPerTick;
        return new NativeMethods.TimeSpec
        {
            Seconds = (nint)(ns / NanosecondsPerSecond),
            Nanoseconds = (nint)(ns % NanosecondsPerSecond),
        };
    }

    private void SetTime(NativeMethods.ITimerSpec* spec)
    {
        using FdRef r = new(Handle);
        if (NativeMethods.timerfd_settime(r.Fd, 0, spec, null) != 0)
        {
            Errno.Throw("timerfd_settime");
        }
    }
}
