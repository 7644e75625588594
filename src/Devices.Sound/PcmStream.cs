// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Devices.Sound.Endpoints;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound;

/// <summary>
/// One PCM stream: its endpoint (which also keeps its clock), the parameters and state the driver
/// set, and the messages it holds. Positions count sample bytes since PREPARE, in the endpoint's terms.
/// </summary>
internal sealed class PcmStream : IDisposable
{
    private PcmStream(int id, byte direction, IPcmEndpoint endpoint)
    {
        Id = id;
        Direction = direction;
        Endpoint = endpoint;
    }

    /// <summary>The stream id (its index in the config's streams).</summary>
    public int Id { get; }

    /// <summary>VIRTIO_SND_D_OUTPUT or VIRTIO_SND_D_INPUT.</summary>
    public byte Direction { get; }

    /// <summary>Where frames go or come from.</summary>
    public IPcmEndpoint Endpoint { get; }

    /// <summary>The playback endpoint, or null for capture.</summary>
    public IPlaybackSink? Sink => Endpoint as IPlaybackSink;

    /// <summary>The capture endpoint, or null for playback.</summary>
    public ICaptureSource? Source => Endpoint as ICaptureSource;

    /// <summary>The queue that carries the stream's I/O messages.</summary>
    public int DataQueue => Direction == SoundWire.DirectionOutput ? SoundWire.TxQueue : SoundWire.RxQueue;

    public PcmState State { get; set; }

    public PcmParams Params { get; set; }

    /// <summary>The held I/O messages, oldest first; the oldest starts at <see cref="Completed"/>.</summary>
    public HeldMessages Held { get; } = new();

    /// <summary>RELEASE (or new parameters) asked the data queue to return every held message.</summary>
    public bool ReturnPending { get; set; }

    /// <summary>Position up to which messages were completed (and silence or dropped frames bridged).</summary>
    public long Completed { get; set; }

    /// <summary>Position up to which frames were handed to the sink, or taken from the source.</summary>
    public long Transferred { get; set; }

    /// <summary>Underruns (playback) or overruns (capture) the device bridged in this run.</summary>
    public int Xruns { get; set; }

    /// <summary>Bytes of silence played, or of frames dropped, for <see cref="Xruns"/>.</summary>
    public long XrunBytes { get; set; }

    /// <summary>When the run's first START came (<see cref="TimeProvider"/> timestamp; 0 before it).</summary>
    public long StartedAt { get; set; }

    /// <summary>The farthest the endpoint's clock was past a message's end when it completed (bytes).</summary>
    public long MaxLateBytes { get; set; }

    /// <summary>The stream's pacing timer, watched on <see cref="DataQueue"/>'s thread.</summary>
    public TimerFd? Timer { get; set; }

    public ulong TimerToken { get; set; }

    /// <summary>The endpoint failed; messages complete with VIRTIO_SND_S_IO_ERR until the next PREPARE.</summary>
    public bool Failed { get; set; }

    public static PcmStream Playback(int id, IPlaybackSink sink) => new(id, SoundWire.DirectionOutput, sink);

    public static PcmStream Capture(int id, ICaptureSource source) => new(id, SoundWire.DirectionInput, source);

    /// <summary>Whether the stream takes I/O messages now (between PREPARE and RELEASE).</summary>
    public bool TakesMessages => State is PcmState.Prepared or PcmState.Running or PcmState.Stopped;

    /// <summary>Whether <paramref name="p"/> is within what the endpoint supports.</summary>
    public bool Supports(PcmParams p) =>
        p.Format < 64 && (Endpoint.Formats & (1UL << p.Format)) != 0 &&
        p.Rate < 64 && (Endpoint.Rates & (1UL << p.Rate)) != 0 &&
        p.Channels >= Endpoint.ChannelsMin && p.Channels <= Endpoint.ChannelsMax;

    public void Dispose()
    {
        Timer?.Dispose();
        Endpoint.Dispose();
    }
}
