// SPDX-License-Identifier: MIT
using System;
using System.IO;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// A WAV file a capture stream reads, from its start each time a stream is prepared, then silence.
/// The stream offers exactly the file's format, rate and channels.
/// </summary>
public sealed class WavSource : ICaptureSource
{
    private readonly string _path;
    private readonly FileDescriptor _fd;
    private readonly long _dataOffset;
    private readonly long _dataBytes;
    private long _position;

    private WavSource(string path, FileDescriptor fd, byte format, byte rate, byte channels, long dataOffset, long dataBytes)
    {
        _path = path;
        _fd = fd;
        Format = format;
        Rate = rate;
        Channels = channels;
        _dataOffset = dataOffset;
        _dataBytes = dataBytes;
    }

    /// <inheritdoc/>
    public string Description => $"WAV file {_path} ({PcmFormat.Name(Format)} {PcmFormat.Hertz(Rate)} Hz {Channels} ch, {_dataBytes} bytes)";

    /// <inheritdoc/>
    public byte Format { get; }

    /// <inheritdoc/>
    public byte Rate { get; }

    /// <inheritdoc/>
    public byte Channels { get; }

    /// <summary>Opens and checks the file.</summary>
    /// <exception cref="IOException">It cannot be read, is not a WAV file, or holds samples a stream cannot carry.</exception>
    public static WavSource Open(string path)
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

            return new WavSource(path, fd, format, (byte)rate, (byte)channels, offset, bytes);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Begin() => _position = 0;

    /// <inheritdoc/>
    public void Read(Span<byte> frames)
    {
        int filled = 0;
        while (filled < frames.Length && _position < _dataBytes)
        {
            int want = (int)Math.Min(frames.Length - filled, _dataBytes - _position);
            int n = FileIo.PRead(_fd, frames.Slice(filled, want), _dataOffset + _position);
            if (n <= 0)
            {
                break;
            }

            filled += n;
            _position += n;
        }

        frames[filled..].Fill(PcmFormat.SilenceByte(Format));
        _position += frames.Length - filled;
    }

    /// <inheritdoc/>
    public void Skip(long bytes) => _position += bytes;

    /// <inheritdoc/>
    public void Dispose() => _fd.Dispose();
}
