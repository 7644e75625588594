// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Hid.Htt;

/// <summary>The touch controller behind an HTT display (feature report 4).</summary>
public enum ControllerType : byte
{
    /// <summary>No touch controller.</summary>
    None = 0,

    /// <summary>A resistive panel.</summary>
    Resistive = 1,

    /// <summary>Microchip maXTouch (MXTxx): all three sensitivity levels.</summary>
    Mxt = 2,

    /// <summary>Goodix GT9xx: normal and high.</summary>
    Gt9 = 3,

    /// <summary>FocalTech FT5xx.</summary>
    Ft5 = 4,

    /// <summary>Ilitek ILI25xx.</summary>
    Ili25 = 5,
}

/// <summary>The touch sensitivity of an HTT display (feature report 7).</summary>
public enum SensitivityLevel : byte
{
    /// <summary>Normal.</summary>
    Normal = 0,

    /// <summary>High.</summary>
    High = 1,

    /// <summary>Extra (MXTxx only).</summary>
    Extra = 2,
}

/// <summary>
/// The facts of the Matrix Orbital HTT display's HID protocol: everything goes through feature
/// reports whose byte 0 is the report id; a get's answer starts at byte 1; a set is not acknowledged,
/// and setting the sensitivity makes the unit reboot (its hidraw node goes away and comes back).
/// </summary>
public static class HttProtocol
{
    /// <summary>The USB vendor id.</summary>
    public const ushort Vendor = 0x1B3D;

    /// <summary>The USB product id.</summary>
    public const ushort Product = 0x14C9;

    /// <summary>Report 4 (get): the controller type in byte 1.</summary>
    public const byte ControllerTypeReport = 4;

    /// <summary>Report 4's length, report id included.</summary>
    public const int ControllerTypeLength = 2;

    /// <summary>Report 9 (get): the firmware revision, u32 little-endian in bytes 1..4.</summary>
    public const byte FirmwareReport = 9;

    /// <summary>Report 9's length.</summary>
    public const int FirmwareLength = 5;

    /// <summary>Report 7 (get and set): the sensitivity level in byte 1.</summary>
    public const byte SensitivityReport = 7;

    /// <summary>Report 7's length.</summary>
    public const int SensitivityLength = 2;

    /// <summary>Whether <paramref name="node"/> is an HTT display.</summary>
    public static bool IsDisplay(HidrawNode node) =>
        node is not null && node.Vendor == Vendor && node.Product == Product;

    /// <summary>
    /// Whether the sensitivity setting means anything on <paramref name="type"/>: MXTxx has all three
    /// levels, GT9xx normal and high, the other controllers none.
    /// </summary>
    public static bool Supports(ControllerType type, SensitivityLevel level) => type switch
    {
        ControllerType.Mxt => level is SensitivityLevel.Normal or SensitivityLevel.High or SensitivityLevel.Extra,
        ControllerType.Gt9 => level is SensitivityLevel.Normal or SensitivityLevel.High,
        _ => false,
    };

    /// <summary>Whether <paramref name="type"/> has a sensitivity setting at all.</summary>
    public static bool HasSensitivity(ControllerType type) => type is ControllerType.Mxt or ControllerType.Gt9;

    /// <summary>The levels <paramref name="type"/> supports, as the command line names them.</summary>
    public static string SupportedNames(ControllerType type) => type switch
    {
        ControllerType.Mxt => "normal, high, extra",
        ControllerType.Gt9 => "normal, high",
        _ => "none",
    };

    /// <summary>The lower-case name of <paramref name="level"/> (<c>normal</c>, <c>high</c>, <c>extra</c>).</summary>
    public static string Name(SensitivityLevel level) => level switch
    {
        SensitivityLevel.Normal => "normal",
        SensitivityLevel.High => "high",
        SensitivityLevel.Extra => "extra",
        _ => ((byte)level).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The display name of <paramref name="type"/>.</summary>
    public static string Name(ControllerType type) => type switch
    {
        ControllerType.None => "none",
        ControllerType.Resistive => "resistive",
        ControllerType.Mxt => "MXTxx",
        ControllerType.Gt9 => "GT9xx",
        ControllerType.Ft5 => "FT5xx",
        ControllerType.Ili25 => "ILI25xx",
        _ => "unknown(" + ((byte)type).ToString(System.Globalization.CultureInfo.InvariantCulture) + ")",
    };

    /// <summary>Parses <c>normal</c>, <c>high</c> or <c>extra</c> (case-insensitive).</summary>
    public static bool TryParseLevel(string text, out SensitivityLevel level)
    {
        switch (text?.ToUpperInvariant())
        {
            case "NORMAL": level = SensitivityLevel.Normal; return true;
            case "HIGH": level = SensitivityLevel.High; return true;
            case "EXTRA": level = SensitivityLevel.Extra; return true;
            default: level = default; return false;
        }
    }

    /// <summary>Formats a firmware revision as the 8 hex digits of the u32.</summary>
    public static string FirmwareText(uint firmware) => "0x" + firmware.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    internal static void CheckLevel(SensitivityLevel level)
    {
        if (level > SensitivityLevel.Extra)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "Sensitivity is 0, 1 or 2.");
        }
    }
}
