// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Sound;

/// <summary>What <c>PCM_SET_PARAMS</c> selected for a stream.</summary>
/// <param name="Format">VIRTIO_SND_PCM_FMT_*.</param>
/// <param name="Rate">VIRTIO_SND_PCM_RATE_* index.</param>
/// <param name="Channels">Channels per frame.</param>
/// <param name="BufferBytes">The driver's buffer size.</param>
/// <param name="PeriodBytes">The driver's period size.</param>
public readonly record struct PcmParams(byte Format, byte Rate, byte Channels, uint BufferBytes, uint PeriodBytes)
{
    /// <summary>Bytes per frame.</summary>
    public int FrameBytes => PcmFormat.BytesPerSample(Format) * Channels;

    /// <summary>Frames per second.</summary>
    public uint Hertz => PcmFormat.Hertz(Rate);

    /// <summary>Bytes per second of audio.</summary>
    public long BytesPerSecond => (long)FrameBytes * Hertz;

    /// <inheritdoc/>
    public override string ToString() => $"{PcmFormat.Name(Format)} {Hertz} Hz {Channels} ch, buffer {BufferBytes} B, period {PeriodBytes} B";
}
