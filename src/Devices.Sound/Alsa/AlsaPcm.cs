// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace VirtioLoopback.Devices.Sound.Alsa;

/// <summary>An open, non-blocking ALSA PCM (<c>snd_pcm_t</c>): the safe face of <see cref="AlsaNative"/>.</summary>
internal sealed unsafe class AlsaPcm : IDisposable
{
    private static int s_quiet;
    private nint _pcm;

    private AlsaPcm(nint pcm, string name)
    {
        _pcm = pcm;
        Name = name;
    }

    /// <summary>The PCM's name as given (<c>hw:0,0</c>, <c>default</c>, ...).</summary>
    public string Name { get; }

    /// <summary>The current <c>snd_pcm_state_t</c>.</summary>
    public int State => AlsaNative.snd_pcm_state(Handle);

    private nint Handle => _pcm != 0 ? _pcm : throw new ObjectDisposedException(Name);

    /// <summary>Opens <paramref name="name"/> for playback or capture, non-blocking.</summary>
    /// <exception cref="IOException">libasound is missing, or the PCM cannot be opened.</exception>
    public static AlsaPcm Open(string name, bool capture)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        byte[] cname = Encoding.UTF8.GetBytes(name + "\0");
        nint pcm;
        int rc;
        try
        {
            if (Interlocked.Exchange(ref s_quiet, 1) == 0)
            {
                // Errors come back as codes and go into one message of ours, not onto stderr.
                _ = AlsaNative.snd_lib_error_set_handler(&IgnoreError);
            }

            fixed (byte* p = cname)
            {
                rc = AlsaNative.snd_pcm_open(&pcm, p, capture ? AlsaNative.StreamCapture : AlsaNative.StreamPlayback, AlsaNative.ModeNonBlock);
            }
        }
        catch (DllNotFoundException)
        {
            throw new IOException("libasound.so.2 is not installed (Debian: libasound2)");
        }

        return rc < 0 ? throw Error(name, "cannot open", rc) : new AlsaPcm(pcm, name);
    }

    /// <summary>The ALSA format of a virtio format this device knows.</summary>
    public static int ToAlsaFormat(byte format) => format switch
    {
        PcmFormat.U8 => 1,
        PcmFormat.S16 => 2,
        PcmFormat.S24Packed => 32,
        PcmFormat.S32 => 10,
        PcmFormat.Float => 14,
        PcmFormat.Float64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>What the PCM accepts, among the formats and rates this device knows.</summary>
    public (ulong Formats, ulong Rates, uint ChannelsMin, uint ChannelsMax) Probe()
    {
        nint hw;
        Check("snd_pcm_hw_params_malloc", AlsaNative.snd_pcm_hw_params_malloc(&hw));
        try
        {
            Check("snd_pcm_hw_params_any", AlsaNative.snd_pcm_hw_params_any(Handle, hw));
            ulong formats = 0;
            foreach (byte f in (ReadOnlySpan<byte>)[PcmFormat.U8, PcmFormat.S16, PcmFormat.S24Packed, PcmFormat.S32, PcmFormat.Float, PcmFormat.Float64])
            {
                if (AlsaNative.snd_pcm_hw_params_test_format(Handle, hw, ToAlsaFormat(f)) == 0)
                {
                    formats |= 1UL << f;
                }
            }

            ulong rates = 0;
            for (byte r = 0; PcmFormat.Hertz(r) != 0; r++)
            {
                if (AlsaNative.snd_pcm_hw_params_test_rate(Handle, hw, PcmFormat.Hertz(r), 0) == 0)
                {
                    rates |= 1UL << r;
                }
            }

            uint min, max;
            Check("snd_pcm_hw_params_get_channels_min", AlsaNative.snd_pcm_hw_params_get_channels_min(hw, &min));
            Check("snd_pcm_hw_params_get_channels_max", AlsaNative.snd_pcm_hw_params_get_channels_max(hw, &max));
            return (formats, rates, min, max);
        }
        finally
        {
            AlsaNative.snd_pcm_hw_params_free(hw);
        }
    }

    /// <summary>
    /// Sets interleaved access and <paramref name="p"/>'s format, channels and exact rate, with a
    /// period and buffer near the driver's; then prepares the PCM.
    /// </summary>
    /// <returns>The period ALSA chose, in frames.</returns>
    public long Configure(PcmParams p)
    {
        nint hw;
        Check("snd_pcm_hw_params_malloc", AlsaNative.snd_pcm_hw_params_malloc(&hw));
        try
        {
            nint pcm = Handle;
            Check("snd_pcm_hw_params_any", AlsaNative.snd_pcm_hw_params_any(pcm, hw));
            Check("set access", AlsaNative.snd_pcm_hw_params_set_access(pcm, hw, AlsaNative.AccessRwInterleaved));
            Check($"set format {PcmFormat.Name(p.Format)}", AlsaNative.snd_pcm_hw_params_set_format(pcm, hw, ToAlsaFormat(p.Format)));
            Check($"set {p.Channels} channels", AlsaNative.snd_pcm_hw_params_set_channels(pcm, hw, p.Channels));
            Check($"set rate {p.Hertz}", AlsaNative.snd_pcm_hw_params_set_rate(pcm, hw, p.Hertz, 0));
            nuint period = (nuint)(p.PeriodBytes / (uint)p.FrameBytes);
            int dir = 0;
            Check("set period size", AlsaNative.snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir));
            nuint buffer = (nuint)Math.Max(p.BufferBytes / (uint)p.FrameBytes, 2 * (ulong)period);
            Check("set buffer size", AlsaNative.snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer));
            Check("snd_pcm_hw_params", AlsaNative.snd_pcm_hw_params(pcm, hw));
            Check("snd_pcm_hw_params_get_period_size", AlsaNative.snd_pcm_hw_params_get_period_size(hw, &period, &dir));
            ConfigureSoftware();
            Prepare();
            return (long)period;
        }
        finally
        {
            AlsaNative.snd_pcm_hw_params_free(hw);
        }
    }

    /// <summary>
    /// The PCM starts only when told (virtio's START), and ALSA overwrites what the hardware has
    /// played with silence, so an underrun plays silence instead of stale frames.
    /// </summary>
    private void ConfigureSoftware()
    {
        nint sw;
        Check("snd_pcm_sw_params_malloc", AlsaNative.snd_pcm_sw_params_malloc(&sw));
        try
        {
            nint pcm = Handle;
            nuint boundary;
            Check("snd_pcm_sw_params_current", AlsaNative.snd_pcm_sw_params_current(pcm, sw));
            Check("snd_pcm_sw_params_get_boundary", AlsaNative.snd_pcm_sw_params_get_boundary(sw, &boundary));
            Check("set start threshold", AlsaNative.snd_pcm_sw_params_set_start_threshold(pcm, sw, boundary));
            Check("set silence threshold", AlsaNative.snd_pcm_sw_params_set_silence_threshold(pcm, sw, 0));
            Check("set silence size", AlsaNative.snd_pcm_sw_params_set_silence_size(pcm, sw, boundary));
            Check("snd_pcm_sw_params", AlsaNative.snd_pcm_sw_params(pcm, sw));
        }
        finally
        {
            AlsaNative.snd_pcm_sw_params_free(sw);
        }
    }

    public void Prepare() => Check("snd_pcm_prepare", AlsaNative.snd_pcm_prepare(Handle));

    public void Start() => Check("snd_pcm_start", AlsaNative.snd_pcm_start(Handle));

    /// <summary>Stops at once, dropping what is buffered.</summary>
    public void Drop() => Check("snd_pcm_drop", AlsaNative.snd_pcm_drop(Handle));

    /// <summary>Writes whole frames without waiting.</summary>
    /// <returns>Frames written, or a negative errno (<c>-EAGAIN</c> when full, <c>-EPIPE</c> after an underrun).</returns>
    public long Write(ReadOnlySpan<byte> frames, int frameBytes)
    {
        fixed (byte* p = frames)
        {
            return AlsaNative.snd_pcm_writei(Handle, p, (nuint)(frames.Length / frameBytes));
        }
    }

    /// <summary>Reads whole frames without waiting.</summary>
    /// <returns>Frames read, or a negative errno (<c>-EAGAIN</c> when empty, <c>-EPIPE</c> after an overrun).</returns>
    public long Read(Span<byte> frames, int frameBytes)
    {
        fixed (byte* p = frames)
        {
            return AlsaNative.snd_pcm_readi(Handle, p, (nuint)(frames.Length / frameBytes));
        }
    }

    /// <summary>Frames between the application and the hardware (<c>snd_pcm_delay</c>), or a negative errno.</summary>
    public long Delay()
    {
        nint frames;
        int rc = AlsaNative.snd_pcm_delay(Handle, &frames);
        return rc < 0 ? rc : frames;
    }

    /// <summary>Frames ready to be read or written, or a negative errno.</summary>
    public long Avail() => AlsaNative.snd_pcm_avail_update(Handle);

    /// <summary>Recovers from an xrun (<c>-EPIPE</c>) or a suspend, leaving the PCM prepared.</summary>
    public void Recover(int error) => Check("snd_pcm_recover", AlsaNative.snd_pcm_recover(Handle, error, 1));

    /// <summary>Closes the PCM.</summary>
    public void Dispose()
    {
        if (_pcm != 0)
        {
            _ = AlsaNative.snd_pcm_close(_pcm);
            _pcm = 0;
        }
    }

    /// <summary>An <see cref="IOException"/> for a failed call on this PCM.</summary>
    public IOException Error(string what, long rc) => Error(Name, what, rc);

    private static IOException Error(string name, string what, long rc) =>
        new($"ALSA {name}: {what}: {Marshal.PtrToStringUTF8((nint)AlsaNative.snd_strerror((int)rc))}");

    [UnmanagedCallersOnly]
    private static void IgnoreError(byte* file, int line, byte* function, int error, byte* format)
    {
    }

    private void Check(string what, int rc)
    {
        if (rc < 0)
        {
            throw Error(what, rc);
        }
    }
}
