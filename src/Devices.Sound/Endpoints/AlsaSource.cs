// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Devices.Sound.Alsa;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// An ALSA capture PCM: started at START, read as far as it has frames; frames the driver has no
/// buffer for wait in its hardware buffer, and when that overflows, ALSA's overrun is recovered from.
/// </summary>
public sealed class AlsaSource : AlsaEndpoint, ICaptureSource
{
    private const int EAgain = 11;
    private const int EPipe = 32;
    private const int EStrPipe = 86;

    private long _read;

    /// <summary>Probes <paramref name="name"/> (<c>hw:0,0</c>, <c>default</c>, ...).</summary>
    /// <exception cref="System.IO.IOException">It cannot be used for capture.</exception>
    public AlsaSource(string name)
        : base(name, capture: true)
    {
    }

    /// <inheritdoc/>
    public override void Begin(PcmParams parameters)
    {
        base.Begin(parameters);
        _read = 0;
    }

    /// <inheritdoc/>
    public override void Start()
    {
        Running = true;
        if (Open.State == AlsaNative.StatePrepared)
        {
            Open.Start();
        }
    }

    /// <inheritdoc/>
    public override long Stop()
    {
        Open.Drop();
        Open.Prepare();
        Running = false;
        return _read;
    }

    /// <inheritdoc/>
    public override long Position()
    {
        AlsaPcm pcm = Open;
        long avail = pcm.Avail();
        if (avail == -EPipe || avail == -EStrPipe)
        {
            Recover(pcm, (int)avail);
            return _read;
        }

        if (avail < 0)
        {
            throw pcm.Error("snd_pcm_avail_update", avail);
        }

        return _read + (avail * Params.FrameBytes);
    }

    /// <inheritdoc/>
    public int Read(Span<byte> frames)
    {
        AlsaPcm pcm = Open;
        long rc = pcm.Read(frames, Params.FrameBytes);
        if (rc == -EPipe || rc == -EStrPipe)
        {
            Recover(pcm, (int)rc);
            return 0;
        }

        if (rc == -EAgain)
        {
            return 0;
        }

        if (rc < 0)
        {
            throw pcm.Error("snd_pcm_readi", rc);
        }

        int bytes = (int)rc * Params.FrameBytes;
        _read += bytes;
        return bytes;
    }

    /// <inheritdoc/>
    public long Discard() => 0; // The hardware buffer keeps them; an overflow is ALSA's overrun.

    private void Recover(AlsaPcm pcm, int error)
    {
        Xruns++;
        pcm.Recover(error);
        if (Running)
        {
            pcm.Start();
        }
    }
}
