// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Devices.Sound.Alsa;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// An ALSA playback PCM: frames are written ahead as far as its buffer holds them, the PCM starts
/// with the first frames of a run, and what it has played is what was written minus its delay.
/// </summary>
public sealed class AlsaSink : AlsaEndpoint, IPlaybackSink
{
    private const int EAgain = 11;
    private const int EPipe = 32;
    private const int EStrPipe = 86;

    private long _written;

    /// <summary>Probes <paramref name="name"/> (<c>hw:0,0</c>, <c>default</c>, ...).</summary>
    /// <exception cref="System.IO.IOException">It cannot be used for playback.</exception>
    public AlsaSink(string name)
        : base(name, capture: false)
    {
    }

    /// <inheritdoc/>
    public override void Begin(PcmParams parameters)
    {
        base.Begin(parameters);
        _written = 0;
    }

    /// <inheritdoc/>
    public override void Start()
    {
        Running = true;
        StartIfFed();
    }

    /// <inheritdoc/>
    public override long Stop()
    {
        long played = Position();
        Open.Drop();
        Open.Prepare();
        _written = played;
        Running = false;
        return played;
    }

    /// <inheritdoc/>
    public override long Position()
    {
        AlsaPcm pcm = Open;
        long delay = pcm.Delay();
        if (delay == -EPipe || delay == -EStrPipe)
        {
            // The hardware ran dry: everything written has been played.
            Recover(pcm, (int)delay);
            return _written;
        }

        if (delay < 0)
        {
            throw pcm.Error("snd_pcm_delay", delay);
        }

        return Math.Max(0, _written - (delay * Params.FrameBytes));
    }

    /// <inheritdoc/>
    public int Write(ReadOnlySpan<byte> frames)
    {
        AlsaPcm pcm = Open;
        long rc = pcm.Write(frames, Params.FrameBytes);
        if (rc == -EPipe || rc == -EStrPipe)
        {
            Recover(pcm, (int)rc);
            rc = pcm.Write(frames, Params.FrameBytes);
        }

        if (rc == -EAgain)
        {
            return 0;
        }

        if (rc < 0)
        {
            throw pcm.Error("snd_pcm_writei", rc);
        }

        int bytes = (int)rc * Params.FrameBytes;
        _written += bytes;
        StartIfFed();
        return bytes;
    }

    /// <inheritdoc/>
    public long Underrun(long bytes) => 0; // The hardware played its own silence.

    private void StartIfFed()
    {
        if (Running && _written > 0 && Open.State == AlsaNative.StatePrepared)
        {
            Open.Start();
        }
    }

    private void Recover(AlsaPcm pcm, int error)
    {
        Xruns++;
        pcm.Recover(error);
    }
}
