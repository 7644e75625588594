// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;

namespace VirtioLoopback.Devices.Gpio.Host;

/// <summary>
/// A software chip for machines without GPIO hardware (CI, a board's bring-up, a VM host): its lines
/// are wired in pairs, 2k to 2k+1, as by a jumper. A line that is not an output reads the level its
/// partner drives (low while the partner is not an output, as with a pull-down), and each change of
/// that level is an edge on it. <c>--chip wired:N</c>.
/// </summary>
/// <remarks>The device calls every member under its one lock, so the chip needs none of its own.</remarks>
internal sealed class WiredChip : IGpioChip
{
    /// <summary>The prefix of the <c>--chip</c> value that selects this chip.</summary>
    public const string Prefix = "wired:";

    private readonly WiredLine?[] _held;
    private readonly bool[] _isOutput;
    private readonly bool[] _driven;

    public WiredChip(int lines)
    {
        if (lines is < 1 or > GpioLogic.MaxLines)
        {
            throw new ArgumentOutOfRangeException(nameof(lines), $"A wired chip has 1 to {GpioLogic.MaxLines} lines.");
        }

        _held = new WiredLine?[lines];
        _isOutput = new bool[lines];
        _driven = new bool[lines];
    }

    /// <inheritdoc />
    public string Description => $"{Prefix}{LineCount} (software lines wired in pairs)";

    /// <inheritdoc />
    public uint LineCount => (uint)_held.Length;

    /// <summary>A line's name: <c>wire3a</c> and <c>wire3b</c> are lines 6 and 7, wired together.</summary>
    public static string NameOf(uint offset) => $"wire{offset / 2}{((offset & 1) == 0 ? 'a' : 'b')}";

    /// <inheritdoc />
    public int GetLineInfo(uint offset, out HostLineInfo info)
    {
        info = new HostLineInfo(NameOf(offset), _isOutput[offset], !_isOutput[offset]);
        return 0;
    }

    /// <inheritdoc />
    public IGpioLine? Request(uint offset, LineSettings settings, out int errno)
    {
        if (_held[offset] is not null)
        {
            errno = 16; // EBUSY, as the character device answers for a line already requested
            return null;
        }

        errno = 0;
        WiredLine line = new(this, offset);
        _held[offset] = line;
        line.Reconfigure(settings);
        return line;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (WiredLine? line in _held)
        {
            line?.Dispose();
        }
    }

    /// <summary>The level line <paramref name="offset"/> reads.</summary>
    internal bool Level(uint offset)
    {
        if (_isOutput[offset])
        {
            return _driven[offset];
        }

        uint partner = offset ^ 1;
        return partner < LineCount && _isOutput[partner] && _driven[partner];
    }

    /// <summary>Line <paramref name="offset"/> drives <paramref name="value"/> (or stops driving); its partner sees the edge.</summary>
    internal void Drive(uint offset, bool output, bool value)
    {
        uint partner = offset ^ 1;
        bool before = partner < LineCount && Level(partner);
        _isOutput[offset] = output;
        _driven[offset] = output && value;
        if (partner < LineCount && Level(partner) != before)
        {
            _held[partner]?.OnEdge(!before);
        }
    }

    /// <summary>The line is released: it stops driving.</summary>
    internal void Release(uint offset, WiredLine line)
    {
        if (_held[offset] == line)
        {
            _held[offset] = null;
            Drive(offset, false, false);
        }
    }

    /// <summary>When, on the clock of the character device's edge timestamps (CLOCK_MONOTONIC).</summary>
    internal static ulong Now()
    {
        ulong ticks = (ulong)Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000 ? ticks : (ulong)((UInt128)ticks * 1_000_000_000UL / (ulong)Stopwatch.Frequency);
    }
}
