// SPDX-License-Identifier: MIT
using System;
using System.IO;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// A WAV file a capture stream reads as the host's monotonic clock captures it: from the file's
/// start at each PREPARE, then silence. The stream offers exactly the file's format, rate and channels.
/// </summary>
public sealed class WavSource : ICaptureSource
{
    private readonly string _path;
    private readonly FileDescriptor _fd;
    private readonly long _dataOffset;
    private readonly long _dataBytes;
    private readonly StreamClock _clock;
    private long _read;
    private long _bufferBytes;

    private WavSource(string path, FileDescriptor fd, byte format, byte rate, byte channels, long dataOffset, long dataBytes, TimeProvider? time)
    {
        _path = path;
        _fd = fd;
        Format = format;
        Rate = rate;
        Channels = channels;
        _dataOffset = dataOffset;
        _dataBytes = dataBytes;
        _clock = new StreamClock(time);
    }

    /// <inheritdoc/>
    public int Xruns => 0;

    /// <inheritdoc/>
    public string Description => $"WAV file {_path} ({PcmFormat.Name(Format)} {PcmFormat.Hertz(Rate)} Hz {Channels} ch, {_dataBytes} bytes)";

    /// <summary>The file's format (VIRTIO_SND_PCM_FMT).</summary>
    public byte Format { get; }

    /// <summary>The file's rate (VIRTIO_SND_PCM_RATE index).</summary>
    public byte Rate { get; }

    /// <summary>The file's channels.</summary>
    public byte Channels { get; }

    /// <inheritdoc/>
    public ulong Formats => 1UL << Format;

    /// <inheritdoc/>
    public ulong Rates => 1UL << Rate;

    /// <inheritdoc/>
    public byte ChannelsMin => Channels;

    /// <inheritdoc/>
    public byte ChannelsMax => Channels;

    /// <summary>Opens and checks the file.</summary>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="InvalidDataException">It is not a WAV file, or holds samples a stream cannot carry.</exception>
    public static WavSource Open(string path, TimeProvider? time = null)
    {
        FileDescriptor fd = FileIo.Open(path, LibC.O_RDONLY);
        try
        {
            (byte format, uint hertz, int channels, long offset, long bytes) = WavFile.Read(fd);
            int rate = PcmFormat.RateIndex(hertz);
            if (rate < 0)
            {
                throw new InvalidDataException($"{hertz} Hz is not a virtio-snd rate");
            }

            if (channels is < 1 or > 2)
            {
                throw new InvalidDataException($"{channels} channels: a capture file has 1 or 2");
            }

            return new WavSource(path, fd, format, (byte)rate, (byte)channels, offset, bytes, time);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Begin(PcmParams parameters)
    {
        _clock.Reset(parameters);
        _read = 0;
        _bufferBytes = parameters.BufferBytes;
    }

    /// <inheritdoc/>
    public void Start() => _clock.Start();

    /// <inheritdoc/>
    public long Stop()
    {
        // Frames captured but not taken are dropped; a resume continues from here.
        _clock.Stop(_read);
        return _read;
    }

    /// <inheritdoc/>
    public void End() => _clock.Stop(_read);

    /// <inheritdoc/>
    public long Position() => _clock.Position();

    /// <inheritdoc/>
    public TimeSpan Until(long position) => _clock.Until(position);

    /// <inheritdoc/>
    public int Read(Span<byte> frames)
    {
        int n = (int)Math.Min(frames.Length, Math.Max(0, _clock.Position() - _read));
        Span<byte> dest = frames[..n];
        int filled = 0;
        while (filled < n && _read + filled < _dataBytes)
        {
            int want = (int)Math.Min(n - filled, _dataBytes - _read - filled);
            int got = FileIo.PRead(_fd, dest.Slice(filled, want), _dataOffset + _read + filled);
            if (got <= 0)
            {
                break;
            }

            filled += got;
        }

        dest[filled..].Fill(PcmFormat.SilenceByte(Format));
        _read += n;
        return n;
    }

    /// <inheritdoc/>
    public long Discard()
    {
        if (_read == 0)
        {
            // Nothing taken yet: capture starts when the driver's first buffer does.
            _clock.Restart(0);
            return 0;
        }

        // As a sound card's buffer would, the driver's buffer size of frames waits; older ones are lost.
        long gap = Math.Max(0, _clock.Position() - _read - _bufferBytes);
        _read += gap;
        return gap;
    }

    /// <inheritdoc/>
    public void Dispose() => _fd.Dispose();
}
