// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Sound;

/// <summary>
/// The sample formats and frame rates this device knows (the subsets of VIRTIO_SND_PCM_FMT_* and
/// VIRTIO_SND_PCM_RATE_* that a plain WAV file holds), by their virtio numbers.
/// </summary>
public static class PcmFormat
{
    /// <summary>VIRTIO_SND_PCM_FMT_U8.</summary>
    public const byte U8 = 4;

    /// <summary>VIRTIO_SND_PCM_FMT_S16 (little endian).</summary>
    public const byte S16 = 5;

    /// <summary>VIRTIO_SND_PCM_FMT_S24_3 (packed, little endian).</summary>
    public const byte S24Packed = 11;

    /// <summary>VIRTIO_SND_PCM_FMT_S32.</summary>
    public const byte S32 = 17;

    /// <summary>VIRTIO_SND_PCM_FMT_FLOAT.</summary>
    public const byte Float = 19;

    /// <summary>VIRTIO_SND_PCM_FMT_FLOAT64.</summary>
    public const byte Float64 = 20;

    /// <summary>The frame rates by VIRTIO_SND_PCM_RATE_* index.</summary>
    private static readonly uint[] Rates = [5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 64000, 88200, 96000, 176400, 192000, 384000];

    /// <summary>Every format above, as a VIRTIO_SND_PCM_FMT bit map.</summary>
    public static ulong AllFormats =>
        (1UL << U8) | (1UL << S16) | (1UL << S24Packed) | (1UL << S32) | (1UL << Float) | (1UL << Float64);

    /// <summary>Every rate from 8 kHz to 192 kHz, as a VIRTIO_SND_PCM_RATE bit map.</summary>
    public static ulong CommonRates => ((1UL << 13) - 1) & ~1UL;

    /// <summary>Bytes per sample of a known format; 0 for any other.</summary>
    public static int BytesPerSample(byte format) => format switch
    {
        U8 => 1,
        S16 => 2,
        S24Packed => 3,
        S32 or Float => 4,
        Float64 => 8,
        _ => 0,
    };

    /// <summary>Whether the format's samples are IEEE floats (WAV format tag 3).</summary>
    public static bool IsFloat(byte format) => format is Float or Float64;

    /// <summary>The frames per second of VIRTIO_SND_PCM_RATE index <paramref name="rate"/>; 0 for an unknown index.</summary>
    public static uint Hertz(byte rate) => rate < Rates.Length ? Rates[rate] : 0;

    /// <summary>The VIRTIO_SND_PCM_RATE index of <paramref name="hertz"/>, or -1.</summary>
    public static int RateIndex(uint hertz) => Array.IndexOf(Rates, hertz);

    /// <summary>The virtio format of WAV samples (<paramref name="isFloat"/> for tag 3), or 0 when none matches.</summary>
    public static byte FromWav(bool isFloat, int bitsPerSample) => (isFloat, bitsPerSample) switch
    {
        (false, 8) => U8,
        (false, 16) => S16,
        (false, 24) => S24Packed,
        (false, 32) => S32,
        (true, 32) => Float,
        (true, 64) => Float64,
        _ => 0,
    };

    /// <summary>A format's name for logs, as ALSA spells it.</summary>
    public static string Name(byte format) => format switch
    {
        U8 => "U8",
        S16 => "S16_LE",
        S24Packed => "S24_3LE",
        S32 => "S32_LE",
        Float => "FLOAT_LE",
        Float64 => "FLOAT64_LE",
        _ => $"format {format}",
    };

    /// <summary>The byte a silent sample is made of (U8 is centred on 0x80).</summary>
    public static byte SilenceByte(byte format) => format == U8 ? (byte)0x80 : (byte)0;
}
