// SPDX-License-Identifier: MIT
using System;
using System.Threading;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// The clock of an endpoint without hardware (a file): sample bytes elapsed on the host's monotonic
/// clock while running, in whole frames.
/// </summary>
public sealed class StreamClock
{
    private readonly TimeProvider _time;
    private long _bytesPerSecond = 1;
    private int _frameBytes = 1;
    private long _base;
    private long _segmentStart;
    private bool _running;

    /// <summary>Creates a stopped clock.</summary>
    public StreamClock(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Stops the clock at position 0 for a stream of <paramref name="parameters"/>.</summary>
    public void Reset(PcmParams parameters)
    {
        _bytesPerSecond = Math.Max(1, parameters.BytesPerSecond);
        _frameBytes = Math.Max(1, parameters.FrameBytes);
        _base = 0;
        _running = false;
    }

    /// <summary>Runs the clock from its position.</summary>
    public void Start()
    {
        if (!_running)
        {
            _segmentStart = _time.GetTimestamp();
            _running = true;
        }
    }

    /// <summary>Pauses the clock at <paramref name="position"/>.</summary>
    public void Stop(long position)
    {
        _base = position;
        _running = false;
    }

    /// <summary>Sets a running clock's position to <paramref name="position"/> now.</summary>
    public void Restart(long position)
    {
        _base = position;
        _segmentStart = _time.GetTimestamp();
    }

    /// <summary>The position now.</summary>
    public long Position()
    {
        if (!_running)
        {
            return _base;
        }

        long elapsed = Math.Max(0, _time.GetTimestamp() - _segmentStart);
        long bytes = (long)((Int128)elapsed * _bytesPerSecond / _time.TimestampFrequency);
        return _base + bytes - (bytes % _frameBytes);
    }

    /// <summary>How long until the position reaches <paramref name="position"/> (infinite while stopped).</summary>
    public TimeSpan Until(long position)
    {
        long left = position - Position();
        if (left <= 0)
        {
            return TimeSpan.Zero;
        }

        return _running ? TimeSpan.FromTicks((long)(((Int128)left * TimeSpan.TicksPerSecond + _bytesPerSecond - 1) / _bytesPerSecond)) : Timeout.InfiniteTimeSpan;
    }
}
