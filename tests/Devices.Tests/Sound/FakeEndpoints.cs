// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.Devices.Sound.Endpoints;

namespace VirtioLoopback.Tests.Sound;

/// <summary>A sink that keeps what was played, and can be told to fail.</summary>
internal sealed class MemorySink : IPlaybackSink
{
    public List<byte> Played { get; } = new();

    public int Flushes { get; private set; }

    public bool FailWrites { get; set; }

    public string Description => "memory";

    public ulong Formats => PcmFormat.AllFormats;

    public ulong Rates => PcmFormat.CommonRates;

    public byte ChannelsMin => 1;

    public byte ChannelsMax => 2;

    public void Begin(PcmParams parameters)
    {
    }

    public void Write(ReadOnlySpan<byte> frames)
    {
        if (FailWrites)
        {
            throw new IOException("disk full");
        }

        Played.AddRange(frames.ToArray());
    }

    public void WriteSilence(long bytes) => Played.AddRange(new byte[bytes]);

    public void Flush() => Flushes++;

    public void Dispose()
    {
    }
}

/// <summary>A mono S16 44.1 kHz source whose byte n is (n * 7) mod 251, from the start at each Begin.</summary>
internal sealed class PatternSource : ICaptureSource
{
    private long _position;

    public string Description => "pattern";

    public byte Format => PcmFormat.S16;

    public byte Rate => 6; // 44100

    public byte Channels => 1;

    public static byte At(long n) => (byte)(n * 7 % 251);

    public void Begin() => _position = 0;

    public void Read(Span<byte> frames)
    {
        for (int i = 0; i < frames.Length; i++)
        {
            frames[i] = At(_position++);
        }
    }

    public void Skip(long bytes) => _position += bytes;

    public void Dispose()
    {
    }
}
