// SPDX-License-Identifier: MIT
using System.Collections.Generic;

namespace VirtioLoopback.Tools.UInputFeeder;

/// <summary>One absolute axis: code and <c>struct input_absinfo</c> limits.</summary>
internal readonly record struct AxisInfo(int Code, int Minimum, int Maximum, int Fuzz, int Flat, int Resolution);

/// <summary>
/// What the device looks like. <see cref="Default"/> is the fixed test profile; the tests compare
/// what the back end reports against exactly these values:
/// <list type="bullet">
/// <item>name "virtio-loopback test pad", bustype BUS_USB (3), vendor 0x1d6b, product 0x0104, version 0x0100</item>
/// <item>EV_KEY: KEY_A..KEY_Z and BTN_TOUCH; EV_ABS: ABS_X 0..4095, ABS_Y 0..2303 (fuzz 4, flat 8,
/// res 12), ABS_PRESSURE 0..255 (fuzz 0, flat 0, res 0); EV_LED: NUML, CAPSL, SCROLLL;
/// EV_MSC: MSC_SCAN; EV_REP; INPUT_PROP_DIRECT</item>
/// </list>
/// </summary>
internal sealed class DeviceProfile
{
    public const string DefaultName = "virtio-loopback test pad";

    public string Name { get; init; } = DefaultName;

    public ushort BusType { get; init; } = InputCodes.BusUsb;

    public ushort Vendor { get; init; } = 0x1d6b;

    public ushort Product { get; init; } = 0x0104;

    public ushort Version { get; init; } = 0x0100;

    public List<int> EventTypes { get; } =
        [InputCodes.EvSyn, InputCodes.EvKey, InputCodes.EvAbs, InputCodes.EvMsc, InputCodes.EvLed, InputCodes.EvRep];

    public List<int> Keys { get; } = [.. InputCodes.Letters, InputCodes.BtnTouch];

    public List<AxisInfo> Axes { get; } =
    [
        new(InputCodes.AbsX, 0, 4095, 4, 8, 12),
        new(InputCodes.AbsY, 0, 2303, 4, 8, 12),
        new(InputCodes.AbsPressure, 0, 255, 0, 0, 0),
    ];

    public List<int> MscCodes { get; } = [InputCodes.MscScan];

    public List<int> Leds { get; } = [InputCodes.LedNumL, InputCodes.LedCapsL, InputCodes.LedScrollL];

    public List<int> Properties { get; } = [InputCodes.InputPropDirect];
}

/// <summary>The linux/input-event-codes.h values the feeder uses.</summary>
internal static class InputCodes
{
    public const ushort BusUsb = 0x03;
    public const int EvSyn = 0x00;
    public const int EvKey = 0x01;
    public const int EvAbs = 0x03;
    public const int EvMsc = 0x04;
    public const int EvLed = 0x11;
    public const int EvRep = 0x14;
    public const int SynReport = 0;
    public const int BtnTouch = 0x14a;
    public const int AbsX = 0x00;
    public const int AbsY = 0x01;
    public const int AbsPressure = 0x18;
    public const int MscScan = 0x04;
    public const int LedNumL = 0x00;
    public const int LedCapsL = 0x01;
    public const int LedScrollL = 0x02;
    public const int InputPropDirect = 0x01;

    /// <summary>KEY_A..KEY_Z in alphabetical order.</summary>
    public static readonly int[] Letters =
        [30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50, 49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44];
}
