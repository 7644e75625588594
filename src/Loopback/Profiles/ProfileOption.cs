// SPDX-License-Identifier: MIT
using System.Globalization;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>One option a device type takes, as <c>--help</c> shows it.</summary>
/// <param name="Name">The option, with its dashes (<c>--tag</c>).</param>
/// <param name="Value">The value's name in the usage text (<c>TAG</c>).</param>
/// <param name="Help">One line on what it does.</param>
public sealed record ProfileOption(string Name, string Value, string Help)
{
    /// <summary>Parses a decimal number in [<paramref name="min"/>, <paramref name="max"/>]; the error names the option.</summary>
    public static string? ParseUInt(string option, string value, ulong min, ulong max, out ulong result)
    {
        if (ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max)
        {
            return null;
        }

        result = 0;
        return $"{option}: expected {min} to {max}, not '{value}'";
    }
}
