// SPDX-License-Identifier: MIT
using System;
using System.Threading;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>
/// A WAV file that records what a playback stream played, as the host's monotonic clock plays it:
/// frames are written when the clock reaches them, and a stream that runs dry records silence, so
/// the file is the stream's real timeline. Streams that keep the same format append to it; a stream
/// in another format starts the file over. The header's sizes are brought up to date whenever a
/// stream ends, so the file is complete between streams.
/// </summary>
public sealed class WavSink : IPlaybackSink
{
    private const int FileMode = 0x1a4; // 0644

    private readonly string _path;
    private readonly StreamClock _clock;
    private readonly byte[] _header = new byte[WavFile.HeaderSize];
    private readonly byte[] _silence = new byte[4096];
    private FileDescriptor? _fd;
    private PcmParams _params;
    private long _dataBytes;
    private long _written;

    /// <summary>Creates the sink; the file is written from the start when the first stream is prepared.</summary>
    /// <exception cref="SysException">The file cannot be created or written.</exception>
    public WavSink(string path, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _clock = new StreamClock(time);

        // Fail at start, not at the guest's first PREPARE, when the file cannot be written.
        FileIo.Open(path, LibC.O_WRONLY | LibC.O_CREAT, FileMode).Dispose();
    }

    /// <inheritdoc/>
    public int Xruns => 0;

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

    /// <inheritdoc/>
    public void Begin(PcmParams parameters)
    {
        _clock.Reset(parameters);
        _written = 0;
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
    public void Start() => _clock.Start();

    /// <inheritdoc/>
    public long Stop()
    {
        // Everything written was played; a dry spell before the stop is not carried past it.
        _clock.Stop(_written);
        return _written;
    }

    /// <inheritdoc/>
    public void End()
    {
        _clock.Stop(_written);
        Flush();
    }

    /// <inheritdoc/>
    public long Position() => _clock.Position();

    /// <inheritdoc/>
    public TimeSpan Until(long position) => _clock.Until(position);

    /// <inheritdoc/>
    public int Write(ReadOnlySpan<byte> frames)
    {
        long room = _clock.Position() - _written;
        int n = (int)Math.Min(frames.Length, Math.Max(0, room));
        if (n > 0)
        {
            Append(frames[..n]);
            _written += n;
        }

        return n;
    }

    /// <inheritdoc/>
    public long Underrun(long bytes)
    {
        if (_written == 0)
        {
            // Nothing played yet: the stream starts with its first frame.
            _clock.Restart(0);
            return 0;
        }

        _silence.AsSpan().Fill(PcmFormat.SilenceByte(_params.Format));
        for (long left = bytes; left > 0;)
        {
            int n = (int)Math.Min(left, _silence.Length);
            Append(_silence.AsSpan(0, n));
            left -= n;
        }

        _written += bytes;
        return bytes;
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

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_fd is null)
        {
            throw new InvalidOperationException("No stream began.");
        }

        FileIo.PWrite(_fd, bytes, WavFile.HeaderSize + _dataBytes);
        _dataBytes += bytes.Length;
    }

    private void Flush()
    {
        if (_fd is null)
        {
            return;
        }

        WavFile.WriteHeader(_header, _params.Format, _params.Hertz, _params.Channels, _dataBytes);
        FileIo.PWrite(_fd, _header, 0);
    }
}
