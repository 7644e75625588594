// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tools.UInputFeeder;

/// <summary>The feeder's actions on (at most) one live uinput device; results go to stdout.</summary>
internal sealed class Feeder : IDisposable
{
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(5);

    private readonly DeviceProfile _profile;
    private readonly string _uinputPath;
    private readonly int _intervalMs;

    // LED writes seen while holding, not yet claimed by ExpectLed.
    private readonly List<InputEvent> _seenLeds = [];
    private UInputDevice? _device;

    public Feeder(DeviceProfile profile, string uinputPath, int defaultBatches, int intervalMs)
    {
        _profile = profile;
        _uinputPath = uinputPath;
        DefaultBatches = defaultBatches;
        _intervalMs = intervalMs;
    }

    public int DefaultBatches { get; }

    public void Create()
    {
        if (_device is not null)
        {
            throw new FeederException("the device exists already");
        }

        _device = UInputDevice.Create(_uinputPath, _profile, NodeTimeout);
        _seenLeds.Clear();
        Console.WriteLine($"EVDEV {_device.EvdevPath}");
        Console.WriteLine($"SYSNAME {_device.SysName}");
    }

    public void Destroy()
    {
        UInputDevice device = Require();
        _device = null;
        device.Dispose();
        Console.WriteLine("DESTROYED");
    }

    public void Recreate(int pauseMs)
    {
        Destroy();
        Thread.Sleep(pauseMs);
        Create();
    }

    public void EmitScript(int batches)
    {
        UInputDevice device = Require();
        int count = 0;
        foreach (List<InputEvent> batch in FeederScript.Build(batches))
        {
            device.Write(batch);
            foreach (InputEvent e in batch)
            {
                Console.WriteLine($"SENT {e}");
            }

            count += batch.Count;
            if (_intervalMs > 0)
            {
                Thread.Sleep(_intervalMs);
            }
        }

        Console.WriteLine($"SCRIPT_DONE {count}");
    }

    public void Emit(InputEvent e)
    {
        Require().Write([e]);
        Console.WriteLine($"SENT {e}");
    }

    public void ExpectLed(int code, int value, int timeoutMs)
    {
        UInputDevice device = Require();
        int seen = _seenLeds.FindIndex(e => e.Code == code && e.Value == value);
        if (seen >= 0)
        {
            _seenLeds.RemoveRange(0, seen + 1);
            return;
        }

        _seenLeds.Clear();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = timeoutMs - (int)clock.ElapsedMilliseconds;
            if (left <= 0)
            {
                throw new FeederException($"no EV_LED {code} {value} write within {timeoutMs} ms");
            }

            foreach (InputEvent e in device.Read(left))
            {
                Report(e);
                if (e.Type == InputCodes.EvLed && e.Code == code && e.Value == value)
                {
                    return;
                }
            }
        }
    }

    public void Hold(int ms)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = ms - (int)clock.ElapsedMilliseconds;
            if (left <= 0)
            {
                return;
            }

            if (_device is null)
            {
                Thread.Sleep(left);
                return;
            }

            foreach (InputEvent e in _device.Read(left))
            {
                Report(e);
                if (e.Type == InputCodes.EvLed)
                {
                    _seenLeds.Add(e);
                }
            }
        }
    }

    /// <summary>
    /// Input latency: writes ABS_X + SYN_REPORT to the uinput device <paramref name="count"/> times,
    /// alternating two far-apart values (so no fuzz filter swallows them), and times each until the
    /// SYN_REPORT after that ABS_X arrives on <paramref name="targetPath"/> (for example the
    /// virtio-input node that mirrors this device). Prints "LATENCY_US count p50 p99 max mean".
    /// </summary>
    public void Latency(string targetPath, int count, int timeoutMs)
    {
        UInputDevice device = Require();
        using FileDescriptor fd = UInputDevice.OpenNode(targetPath);
        using Epoll epoll = Epoll.Create();
        epoll.Add(fd, EpollEvents.In, 0);
        device.Write([new InputEvent(InputCodes.EvAbs, InputCodes.AbsX, 2222), new InputEvent(InputCodes.EvSyn, InputCodes.SynReport, 0)]);
        Thread.Sleep(200);
        while (UInputDevice.ReadEvents(fd, epoll, 0, "read(target)").Count > 0)
        {
        }

        double[] samples = new double[count];
        for (int i = 0; i < count; i++)
        {
            int value = i % 2 == 0 ? 1000 : 3000;
            long start = Stopwatch.GetTimestamp();
            device.Write([new InputEvent(InputCodes.EvAbs, InputCodes.AbsX, value), new InputEvent(InputCodes.EvSyn, InputCodes.SynReport, 0)]);
            bool seen = false, done = false;
            while (!done)
            {
                List<InputEvent> events = UInputDevice.ReadEvents(fd, epoll, timeoutMs, "read(target)");
                if (events.Count == 0)
                {
                    throw new FeederException($"event {i} (ABS_X {value}) did not reach {targetPath} within {timeoutMs} ms");
                }

                foreach (InputEvent e in events)
                {
                    seen |= e.Type == InputCodes.EvAbs && e.Code == InputCodes.AbsX && e.Value == value;
                    done |= seen && e.Type == InputCodes.EvSyn;
                }
            }

            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(samples);
        double mean = 0;
        foreach (double s in samples)
        {
            mean += s / count;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"LATENCY_US {count} {samples[count / 2]:F0} {samples[Math.Min(count - 1, (int)(count * 0.99))]:F0} {samples[^1]:F0} {mean:F0}"));
    }

    public void Dispose()
    {
        _device?.Dispose();
        _device = null;
    }

    // LED writes print as "LED code value"; anything else the kernel sends as "RECEIVED type code value".
    private static void Report(InputEvent e) =>
        Console.WriteLine(e.Type == InputCodes.EvLed ? $"LED {e.Code} {e.Value}" : $"RECEIVED {e}");

    private UInputDevice Require() => _device ?? throw new FeederException("no device: run create first");
}

/// <summary>An action that failed (printed as one line, exit status 1).</summary>
internal sealed class FeederException : Exception
{
    public FeederException()
    {
    }

    public FeederException(string message)
        : base(message)
    {
    }

    public FeederException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Bad command-line arguments (exit status 2) or a bad stdin command.</summary>
internal sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
