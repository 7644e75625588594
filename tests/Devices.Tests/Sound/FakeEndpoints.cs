// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.Devices.Sound.Endpoints;

namespace VirtioLoopback.Tests.Sound;

/// <summary>
/// A sink on a (fake) monotonic clock that keeps what was played (unless <see cref="Record"/> is off:
/// then it only counts, allocating nothing), and can be told to fail.
/// </summary>
internal sealed class MemorySink(TimeProvider time) : IPlaybackSink
{
    private readonly StreamClock _clock = new(time);
    private long _written;

    public List<byte> Played { get; } = new();

    public bool Record { get; init; } = true;

    public int Ends { get; private set; }

    public bool FailWrites { get; set; }

    public int Xruns => 0;

    public string Description => "memory";

    public ulong Formats => PcmFormat.AllFormats;

    public ulong Rates => PcmFormat.CommonRates;

    public byte ChannelsMin => 1;

    public byte ChannelsMax => 2;

    public void Begin(PcmParams parameters)
    {
        _clock.Reset(parameters);
        _written = 0;
    }

    public void Start() => _clock.Start();

    public long Stop()
    {
        _clock.Stop(_written);
        return _written;
    }

    public void End() => Ends++;

    public long Position() => _clock.Position();

    public TimeSpan Until(long position) => _clock.Until(position);

    public int Write(ReadOnlySpan<byte> frames)
    {
        if (FailWrites)
        {
            throw new IOException("disk full");
        }

        int n = (int)Math.Min(frames.Length, Math.Max(0, _clock.Position() - _written));
        if (Record)
        {
            Played.AddRange(frames[..n].ToArray());
        }

        _written += n;
        return n;
    }

    public long Underrun(long bytes)
    {
        if (_written == 0)
        {
            _clock.Restart(0);
            return 0;
        }

        if (Record && bytes > 0)
        {
            Played.AddRange(new byte[bytes]);
        }

        _written += bytes;
        return bytes;
    }

    public void Dispose()
    {
    }
}

/// <summary>A mono S16 44.1 kHz source on a (fake) clock whose byte n is (n * 7) mod 251, from the start at each Begin.</summary>
internal sealed class PatternSource(TimeProvider time) : ICaptureSource
{
    private readonly StreamClock _clock = new(time);
    private long _read;

    public int Xruns => 0;

    public string Description => "pattern";

    public ulong Formats => 1UL << PcmFormat.S16;

    public ulong Rates => 1UL << 6; // 44100

    public byte ChannelsMin => 1;

    public byte ChannelsMax => 1;

    public static byte At(long n) => (byte)(n * 7 % 251);

    public void Begin(PcmParams parameters)
    {
        _clock.Reset(parameters);
        _read = 0;
    }

    public void Start() => _clock.Start();

    public long Stop()
    {
        _clock.Stop(_read);
        return _read;
    }

    public void End()
    {
    }

    public long Position() => _clock.Position();

    public TimeSpan Until(long position) => _clock.Until(position);

    public int Read(Span<byte> frames)
    {
        int n = (int)Math.Min(frames.Length, Math.Max(0, _clock.Position() - _read));
        for (int i = 0; i < n; i++)
        {
            frames[i] = At(_read++);
        }

        return n;
    }

    public long Discard()
    {
        if (_read == 0)
        {
            _clock.Restart(0);
            return 0;
        }

        long gap = Math.Max(0, _clock.Position() - _read);
        _read += gap;
        return gap;
    }

    public void Dispose()
    {
    }
}

