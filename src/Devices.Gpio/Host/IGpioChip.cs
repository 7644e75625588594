// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Gpio.Host;

/// <summary>The direction asked of a host line.</summary>
internal enum HostDirection
{
    /// <summary>Leave the direction as it is (to read a line the driver has not configured).</summary>
    AsIs,

    /// <summary>An input.</summary>
    Input,

    /// <summary>An output.</summary>
    Output,
}

/// <summary>How the back end wants a host line: direction, output level, and edge detection.</summary>
/// <param name="Direction">The direction.</param>
/// <param name="Value">The output level.</param>
/// <param name="Edges">Report both edges (inputs only).</param>
internal readonly record struct LineSettings(HostDirection Direction, bool Value, bool Edges);

/// <summary>What the host chip says of a line it has not lent out.</summary>
/// <param name="Name">The line's name, empty when it has none.</param>
/// <param name="IsOutput">Whether the line is configured as an output now.</param>
/// <param name="IsInput">Whether it is configured as an input now.</param>
internal readonly record struct HostLineInfo(string Name, bool IsOutput, bool IsInput);

/// <summary>One edge the host saw on a requested line.</summary>
/// <param name="Rising">Rising (true) or falling edge.</param>
/// <param name="TimestampNs">When, in the host's CLOCK_MONOTONIC nanoseconds.</param>
/// <param name="LineSeqno">The host's per-line event number (gaps mean the host's buffer overflowed).</param>
internal readonly record struct HostEdge(bool Rising, ulong TimestampNs, uint LineSeqno);

/// <summary>A host GPIO chip: the lines the device exposes come from it.</summary>
internal interface IGpioChip : IDisposable
{
    /// <summary>The chip's device path or name, for logs.</summary>
    string Description { get; }

    /// <summary>The chip's line count.</summary>
    uint LineCount { get; }

    /// <summary>Reads a line's name and current configuration.</summary>
    /// <returns>0, or the errno.</returns>
    int GetLineInfo(uint offset, out HostLineInfo info);

    /// <summary>Requests one line with <paramref name="settings"/>.</summary>
    /// <returns>The line, or null with <paramref name="errno"/> (EBUSY: another consumer has it).</returns>
    IGpioLine? Request(uint offset, LineSettings settings, out int errno);
}

/// <summary>One requested host line. Its <see cref="Fd"/> is readable when edges are pending.</summary>
internal interface IGpioLine : IDisposable
{
    /// <summary>The request's fd (non-blocking): watch it for edges.</summary>
    FileDescriptor Fd { get; }

    /// <summary>Changes the line's settings without releasing it.</summary>
    /// <returns>0, or the errno.</returns>
    int Reconfigure(LineSettings settings);

    /// <summary>Reads the line's level.</summary>
    /// <returns>0, or the errno.</returns>
    int GetValue(out bool value);

    /// <summary>Drives an output line.</summary>
    /// <returns>0, or the errno.</returns>
    int SetValue(bool value);

    /// <summary>Takes the pending edges into <paramref name="edges"/>, without waiting.</summary>
    /// <returns>How many were taken (0: none pending), or -errno.</returns>
    int ReadEdges(Span<HostEdge> edges);
}
