// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// A WAV file that records what a playback stream played, for tests and headless boards. Streams
/// that keep the same format append to it; a stream in another format starts the file over. The
/// header's sizes are brought up to date whenever the stream stops, so the file is complete between
/// streams.
/// </summary>
public sealed class WavSink : IPlaybackSink
{
    private const int FileMode = 0x1a4; // 0644

    private readonly string _path;
    private readonly byte[] _header = new byte[WavFile.HeaderSize];
    private readonly byte[] _silence = new byte[4096];
    private FileDescriptor? _fd;
    private PcmParams _params;
    private long _dataBytes;

    /// <summary>Creates the sink; the file is written from the start when the first stream is prepared.</summary>
    /// <exception cref="SysException">The file cannot be created or written.</exception>
    public WavSink(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;

        // Fail at start, not at the guest's first PREPARE, when the file cannot be written.
        FileIo.Open(path, LibC.O_WRONLY | LibC.O_CREAT, FileMode).Dispose();
    }

    /// <inheritdoc/>
    public string Description => $"WAV file {_path}";

    /// <inheritdoc/>
    public ulong Formats => PcmFormat.AllFormats;

    /// <inheritdoc/>
    public ulong Rates => PcmFormat.CommonRates;

    /// <inheritdoc/>
    public byte ChannelsMin => 1;

    /// <inheritdoc/>
    public byte ChannelsMax => 2;

    /// <summary>Bytes of samples in the file.</summary>
    public long DataBytes => _dataBytes;

    /// <inheritdoc/>
    public void Begin(PcmParams parameters)
    {
        if (_fd is not null && parameters.Format == _params.Format && parameters.Rate == _params.Rate && parameters.Channels == _params.Channels)
        {
            return;
        }

        _fd?.Dispose();
        _fd = null;
        _fd = FileIo.Open(_path, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_TRUNC, FileMode);
        _params = parameters;
        _dataBytes = 0;
        Flush();
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> frames)
    {
        if (_fd is null)
        {
            throw new InvalidOperationException("No stream began.");
        }

        FileIo.PWrite(_fd, frames, WavFile.HeaderSize + _dataBytes);
        _dataBytes += frames.Length;
    }

    /// <inheritdoc/>
    public void WriteSilence(long bytes)
    {
        _silence.AsSpan().Fill(PcmFormat.SilenceByte(_params.Format));
        while (bytes > 0)
        {
            int n = (int)Math.Min(bytes, _silence.Length);
            Write(_silence.AsSpan(0, n));
            bytes -= n;
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_fd is null)
        {
            return;
        }

        WavFile.WriteHeader(_header, _params.Format, _params.Hertz, _params.Channels, _dataBytes);
        FileIo.PWrite(_fd, _header, 0);
    }

    /// <summary>Brings the header up to date and closes the file.</summary>
    public void Dispose()
    {
        try
        {
            Flush();
        }
        catch (SysException)
        {
            // The header keeps its last sizes; nothing else can be done while closing.
        }

        _fd?.Dispose();
        _fd = null;
    }
}
