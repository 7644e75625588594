// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using VirtioLoopback.Devices.Sound.Alsa;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// An ALSA PCM as a stream's endpoint: what it accepts is probed once at start (the stream offers
/// exactly that), the PCM is opened at PREPARE with the driver's parameters and closed at RELEASE,
/// and its hardware clock paces the stream.
/// </summary>
public abstract class AlsaEndpoint : IPcmEndpoint
{
    private readonly string _name;
    private readonly bool _capture;
    private TimeSpan _period;

    /// <summary>Opens <paramref name="name"/> once to learn what it accepts.</summary>
    /// <exception cref="IOException">It cannot be opened, or shares no format, rate or channel count with virtio-snd.</exception>
    protected AlsaEndpoint(string name, bool capture)
    {
        _name = name;
        _capture = capture;
        using AlsaPcm pcm = AlsaPcm.Open(name, capture);
        (ulong formats, ulong rates, uint min, uint max) = pcm.Probe();
        Formats = formats;
        Rates = rates;
        ChannelsMin = (byte)Math.Max(1u, min);
        ChannelsMax = (byte)Math.Min(2u, max);
        if (formats == 0 || rates == 0 || ChannelsMin > ChannelsMax)
        {
            throw new IOException($"ALSA {name}: no format, rate or channel count (1 or 2) in common with virtio-snd");
        }
    }

    /// <inheritdoc/>
    public string Description => $"ALSA {(_capture ? "capture" : "playback")} PCM {_name}";

    /// <inheritdoc/>
    public ulong Formats { get; }

    /// <inheritdoc/>
    public ulong Rates { get; }

    /// <inheritdoc/>
    public byte ChannelsMin { get; }

    /// <inheritdoc/>
    public byte ChannelsMax { get; }

    /// <inheritdoc/>
    public int Xruns { get; protected set; }

    /// <summary>The PCM between PREPARE and RELEASE.</summary>
    private protected AlsaPcm? Pcm { get; private set; }

    /// <summary>The stream's parameters.</summary>
    protected PcmParams Params { get; private set; }

    /// <summary>Whether the stream runs (between START and STOP).</summary>
    protected bool Running { get; set; }

    /// <inheritdoc/>
    public virtual void Begin(PcmParams parameters)
    {
        End();
        AlsaPcm pcm = AlsaPcm.Open(_name, _capture);
        try
        {
            long period = pcm.Configure(parameters);
            _period = TimeSpan.FromTicks(Math.Max(1, period * TimeSpan.TicksPerSecond / parameters.Hertz));
        }
        catch
        {
            pcm.Dispose();
            throw;
        }

        Pcm = pcm;
        Params = parameters;
        Xruns = 0;
        Running = false;
    }

    /// <inheritdoc/>
    public abstract void Start();

    /// <inheritdoc/>
    public abstract long Stop();

    /// <inheritdoc/>
    public void End()
    {
        Running = false;
        if (Pcm is { } pcm)
        {
            try
            {
                pcm.Drop();
            }
            catch (IOException)
            {
                // Closing drops it anyway.
            }

            pcm.Dispose();
            Pcm = null;
        }
    }

    /// <inheritdoc/>
    public abstract long Position();

    /// <inheritdoc/>
    public TimeSpan Until(long position)
    {
        if (!Running)
        {
            return Timeout.InfiniteTimeSpan;
        }

        long left = position - Position();
        if (left <= 0)
        {
            return TimeSpan.Zero;
        }

        // An estimate from the nominal rate; looked at again at least twice a period, to keep the
        // hardware fed and to follow its real clock.
        TimeSpan estimate = TimeSpan.FromTicks((long)((Int128)left * TimeSpan.TicksPerSecond / Params.BytesPerSecond));
        return estimate < _period / 2 ? estimate : _period / 2;
    }

    /// <summary>Closes the PCM.</summary>
    public void Dispose()
    {
        End();
        GC.SuppressFinalize(this);
    }

    /// <summary>The PCM, or an error when no stream is prepared.</summary>
    private protected AlsaPcm Open => Pcm ?? throw new IOException($"ALSA {_name}: not prepared");
}
