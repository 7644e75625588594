// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Gpio.Host;

/// <summary>
/// One requested line of a <see cref="WiredChip"/>. Its edges wait in a fixed ring (the oldest is
/// dropped when it is full, as the kernel's event buffer does, leaving a gap in the numbers); its
/// <see cref="Fd"/>, an eventfd, is readable while any wait.
/// </summary>
internal sealed class WiredLine : IGpioLine
{
    private const int RingSize = 64;
    private readonly WiredChip _chip;
    private readonly uint _offset;
    private readonly EventFd _readable = EventFd.Create();
    private readonly HostEdge[] _ring = new HostEdge[RingSize];
    private int _first;
    private int _count;
    private uint _seqno;
    private bool _edges;
    private bool _disposed;

    public WiredLine(WiredChip chip, uint offset)
    {
        _chip = chip;
        _offset = offset;
    }

    /// <inheritdoc />
    public FileDescriptor Fd => _readable.Handle;

    /// <inheritdoc />
    public int Reconfigure(LineSettings settings)
    {
        _edges = settings.Direction == HostDirection.Input && settings.Edges;
        if (settings.Direction != HostDirection.AsIs)
        {
            _chip.Drive(_offset, settings.Direction == HostDirection.Output, settings.Value);
        }

        return 0;
    }

    /// <inheritdoc />
    public int GetValue(out bool value)
    {
        value = _chip.Level(_offset);
        return 0;
    }

    /// <inheritdoc />
    public int SetValue(bool value)
    {
        _chip.Drive(_offset, true, value);
        return 0;
    }

    /// <inheritdoc />
    public int ReadEdges(Span<HostEdge> edges)
    {
        int n = 0;
        while (n < edges.Length && _count > 0)
        {
            edges[n++] = _ring[_first];
            _first = (_first + 1) % RingSize;
            _count--;
        }

        if (_count == 0)
        {
            _readable.TryRead(out _);
        }

        return n;
    }

    /// <summary>The level this line reads changed.</summary>
    internal void OnEdge(bool rising)
    {
        if (!_edges)
        {
            return;
        }

        if (_count == RingSize)
        {
            _first = (_first + 1) % RingSize;
            _count--;
        }

        _ring[(_first + _count) % RingSize] = new HostEdge(rising, WiredChip.Now(), ++_seqno);
        _count++;
        _readable.Signal();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _chip.Release(_offset, this);
        _readable.Dispose();
    }
}
