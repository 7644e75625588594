// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.Tools.HttDouble;

/// <summary>What the double answers to feature reports, and what a set changes.</summary>
internal sealed class DisplayModel(byte controllerType, uint firmware, byte sensitivity)
{
    public byte ControllerType { get; } = controllerType;

    public uint Firmware { get; } = firmware;

    public byte Sensitivity { get; private set; } = sensitivity;

    /// <summary>Fills <paramref name="reply"/> (report id first) for a get; returns its length, or -1 for an unknown report.</summary>
    public int Get(byte report, Span<byte> reply)
    {
        reply[0] = report;
        switch (report)
        {
            case 4:
                reply[1] = ControllerType;
                return 2;
            case 7:
                reply[1] = Sensitivity;
                return 2;
            case 9:
                BinaryPrimitives.WriteUInt32LittleEndian(reply[1..], Firmware);
                return 5;
            default:
                return -1;
        }
    }

    /// <summary>Applies a set (data starts with the report id); true when the display must reboot.</summary>
    public bool Set(ReadOnlySpan<byte> data, out string error)
    {
        error = string.Empty;
        if (data.Length < 2 || data[0] != 7)
        {
            error = data.IsEmpty ? "empty report" : $"report {data[0]} is not settable";
            return false;
        }

        // Like the vendor's firmware as the issue describes it: stored as given, then a reboot.
        Sensitivity = data[1];
        return true;
    }
}
