// SPDX-License-Identifier: MIT
using System;
using System.Globalization;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>An Ethernet unicast address as <c>--mac</c> takes it: six hex octets separated by <c>:</c> or <c>-</c>.</summary>
public static class MacAddress
{
    /// <summary>The address length.</summary>
    public const int Length = 6;

    /// <summary>Parses <paramref name="text"/> into <paramref name="mac"/>; returns an error message or null.</summary>
    public static string? TryParse(string text, Span<byte> mac)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (mac.Length < Length)
        {
            throw new ArgumentException("Six bytes are needed.", nameof(mac));
        }

        string[] parts = text.Split(text.Contains('-', StringComparison.Ordinal) ? '-' : ':');
        if (parts.Length != Length)
        {
            return $"--mac: expected six hex octets like 52:54:00:12:34:56, not '{text}'";
        }

        for (int i = 0; i < Length; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out mac[i]))
            {
                return $"--mac: expected six hex octets like 52:54:00:12:34:56, not '{text}'";
            }
        }

        if ((mac[0] & 1) != 0)
        {
            return $"--mac: {text} is a multicast address; a device needs a unicast one";
        }

        if (mac[..Length].IndexOfAnyExcept((byte)0) < 0)
        {
            return "--mac: 00:00:00:00:00:00 is not an address";
        }

        return null;
    }
}
