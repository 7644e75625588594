// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Devices.Sound.Endpoints;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound;

/// <summary>
/// One PCM stream: its capabilities, the parameters and state the driver set, the messages it holds,
/// and the device clock that paces them. Playback goes to a sink, capture comes from a source.
/// </summary>
internal sealed class PcmStream : IDisposable
{
    private PcmStream(int id, byte direction, IPlaybackSink? sink, ICaptureSource? source)
    {
        Id = id;
        Direction = direction;
        Sink = sink;
        Source = source;
    }

    /// <summary>The stream id (its index in the config's streams).</summary>
    public int Id { get; }

    /// <summary>VIRTIO_SND_D_OUTPUT or VIRTIO_SND_D_INPUT.</summary>
    public byte Direction { get; }

    /// <summary>Where played frames go (playback).</summary>
    public IPlaybackSink? Sink { get; }

    /// <summary>Where captured frames come from (capture).</summary>
    public ICaptureSource? Source { get; }

    /// <summary>The queue that carries the stream's I/O messages.</summary>
    public int DataQueue => Direction == SoundWire.DirectionOutput ? SoundWire.TxQueue : SoundWire.RxQueue;

    /// <summary>Supported formats (VIRTIO_SND_PCM_FMT bit map).</summary>
    public ulong Formats => Sink?.Formats ?? (1UL << Source!.Format);

    /// <summary>Supported rates (VIRTIO_SND_PCM_RATE bit map).</summary>
    public ulong Rates => Sink?.Rates ?? (1UL << Source!.Rate);

    /// <summary>The fewest channels.</summary>
    public byte ChannelsMin => Sink?.ChannelsMin ?? Source!.Channels;

    /// <summary>The most channels.</summary>
    public byte ChannelsMax => Sink?.ChannelsMax ?? Source!.Channels;

    public PcmState State { get; set; }

    public PcmParams Params { get; set; }

    /// <summary>The held I/O messages, oldest first.</summary>
    public HeldMessages Held { get; } = new();

    /// <summary>RELEASE (or new parameters) asked the data queue to return every held message.</summary>
    public bool ReturnPending { get; set; }

    /// <summary>The clock time (<see cref="TimeProvider"/> timestamp) at which <see cref="Consumed"/> was zero.</summary>
    public long ClockStart { get; set; }

    /// <summary>When STOP paused the clock.</summary>
    public long StoppedAt { get; set; }

    /// <summary>Sample bytes the device has played (or captured) since the stream started.</summary>
    public long Consumed { get; set; }

    /// <summary>Underruns (playback) or overruns (capture) the device bridged in this run.</summary>
    public int Xruns { get; set; }

    /// <summary>Bytes of silence played, or of frames dropped, for <see cref="Xruns"/>.</summary>
    public long XrunBytes { get; set; }

    /// <summary>When the run's first START came.</summary>
    public long StartedAt { get; set; }

    /// <summary>The latest a message of this run completed after the clock reached its end (timestamp units).</summary>
    public long MaxLate { get; set; }

    /// <summary>The stream's pacing timer, watched on <see cref="DataQueue"/>'s thread.</summary>
    public TimerFd? Timer { get; set; }

    public ulong TimerToken { get; set; }

    /// <summary>The sink or source failed; messages complete with VIRTIO_SND_S_IO_ERR until the next PREPARE.</summary>
    public bool Failed { get; set; }

    public string Description => Sink?.Description ?? Source!.Description;

    public static PcmStream Playback(int id, IPlaybackSink sink) => new(id, SoundWire.DirectionOutput, sink, null);

    public static PcmStream Capture(int id, ICaptureSource source) => new(id, SoundWire.DirectionInput, null, source);

    /// <summary>Whether the stream takes I/O messages now (between PREPARE and RELEASE).</summary>
    public bool TakesMessages => State is PcmState.Prepared or PcmState.Running or PcmState.Stopped;

    /// <summary>Whether <paramref name="p"/> is within what the stream supports.</summary>
    public bool Supports(PcmParams p) =>
        p.Format < 64 && (Formats & (1UL << p.Format)) != 0 &&
        p.Rate < 64 && (Rates & (1UL << p.Rate)) != 0 &&
        p.Channels >= ChannelsMin && p.Channels <= ChannelsMax;

    /// <summary>Sample bytes the clock allows by <paramref name="now"/>, in whole frames.</summary>
    public long AllowedBytes(long now, long frequency)
    {
        long elapsed = Math.Max(0, now - ClockStart);
        long bytes = (long)((Int128)elapsed * Params.BytesPerSecond / frequency);
        return bytes - (bytes % Params.FrameBytes);
    }

    /// <summary>The clock time at which <paramref name="bytes"/> sample bytes are consumed.</summary>
    public long TimeOf(long bytes, long frequency) =>
        ClockStart + (long)(((Int128)bytes * frequency + Params.BytesPerSecond - 1) / Params.BytesPerSecond);

    public void Dispose()
    {
        Timer?.Dispose();
        Sink?.Dispose();
        Source?.Dispose();
    }
}
