// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using VirtioLoopback.Devices.Gpio.Host;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests.Gpio;

/// <summary>
/// A host chip under the test's control: each line's input level, edges pushed by hand, and a
/// line that refuses requests (busy), as another consumer on the host would make it.
/// </summary>
internal sealed class FakeGpioChip : IGpioChip
{
    private readonly string[] _names;

    public FakeGpioChip(params string[] names)
    {
        _names = names;
        Levels = new bool[names.Length];
        Held = new FakeGpioLine?[names.Length];
    }

    public string Description => "fake chip";

    public uint LineCount => (uint)_names.Length;

    /// <summary>The level each line reads as when it is an input.</summary>
    public bool[] Levels { get; }

    /// <summary>The lines the device holds now, by host offset.</summary>
    public FakeGpioLine?[] Held { get; }

    /// <summary>Requests for this host line fail with EBUSY.</summary>
    public uint? BusyLine { get; set; }

    public bool Disposed { get; private set; }

    public int GetLineInfo(uint offset, out HostLineInfo info)
    {
        info = new HostLineInfo(_names[offset], false, true);
        return 0;
    }

    public IGpioLine? Request(uint offset, LineSettings settings, out int errno)
    {
        if (offset == BusyLine)
        {
            errno = 16; // EBUSY
            return null;
        }

        errno = 0;
        FakeGpioLine line = new(this, offset, settings);
        Held[offset] = line;
        return line;
    }

    public void Dispose() => Disposed = true;
}

/// <summary>One requested fake line: its settings, the value it drives, and the edges waiting.</summary>
internal sealed class FakeGpioLine : IGpioLine
{
    private readonly FakeGpioChip _chip;
    private readonly uint _offset;
    private readonly EventFd _readable = EventFd.Create();

    public FakeGpioLine(FakeGpioChip chip, uint offset, LineSettings settings)
    {
        _chip = chip;
        _offset = offset;
        Settings = settings;
        Driven = settings.Value;
    }

    public FileDescriptor Fd => _readable.Handle;

    public LineSettings Settings { get; private set; }

    /// <summary>The level the line drives while it is an output.</summary>
    public bool Driven { get; private set; }

    public Queue<HostEdge> Edges { get; } = new();

    /// <summary>The next edge read fails with this errno.</summary>
    public int ReadError { get; set; }

    public bool Released { get; private set; }

    public int Reconfigure(LineSettings settings)
    {
        Settings = settings;
        Driven = settings.Value;
        return 0;
    }

    public int GetValue(out bool value)
    {
        value = Settings.Direction == HostDirection.Output ? Driven : _chip.Levels[_offset];
        return 0;
    }

    public int SetValue(bool value)
    {
        Driven = value;
        return 0;
    }

    public int ReadEdges(Span<HostEdge> edges)
    {
        if (ReadError != 0)
        {
            return -ReadError;
        }

        int n = 0;
        while (n < edges.Length && Edges.TryDequeue(out HostEdge e))
        {
            edges[n++] = e;
        }

        return n;
    }

    public void Dispose()
    {
        Released = true;
        if (_chip.Held[_offset] == this)
        {
            _chip.Held[_offset] = null;
        }

        _readable.Dispose();
    }
}
