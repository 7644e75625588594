// SPDX-License-Identifier: MIT
using System.Collections.Generic;

namespace VirtioLoopback.Tools.UInputFeeder;

/// <summary>
/// The deterministic event script (<c>--emit-script</c>, command <c>script</c>). Batch <c>i</c>
/// (0-based) is written with one <c>write(2)</c> and leaves no key held, so the input core's
/// software auto-repeat (EV_REP) never adds events; every report ends with SYN_REPORT:
/// <list type="bullet">
/// <item>even <c>i</c>, <c>k = i/2</c>: a tap of letter <c>k mod 26</c> (KEY_A, KEY_B, ...):
/// MSC_SCAN 0x70004+k, KEY 1, SYN, MSC_SCAN 0x70004+k, KEY 0, SYN (6 events)</item>
/// <item>odd <c>i</c>, <c>j = i/2</c>: a touch stroke: ABS_X 200+350j', ABS_Y 100+200j',
/// ABS_PRESSURE 40+20j', BTN_TOUCH 1, SYN, ABS_X +100, ABS_Y +60, SYN, ABS_PRESSURE 0,
/// BTN_TOUCH 0, SYN (11 events), with <c>j' = j mod 10</c></item>
/// </list>
/// Consecutive axis values differ by more than twice the fuzz, so the input core passes every one.
/// The default 20 batches are 170 events.
/// </summary>
internal static class FeederScript
{
    public static List<List<InputEvent>> Build(int batches)
    {
        List<List<InputEvent>> result = new(batches);
        for (int i = 0; i < batches; i++)
        {
            result.Add(i % 2 == 0 ? KeyTap(i / 2) : TouchStroke(i / 2));
        }

        return result;
    }

    private static List<InputEvent> KeyTap(int k)
    {
        int letter = k % InputCodes.Letters.Length;
        ushort key = (ushort)InputCodes.Letters[letter];
        int scan = 0x70004 + letter;
        return
        [
            new(InputCodes.EvMsc, InputCodes.MscScan, scan),
            new(InputCodes.EvKey, key, 1),
            Syn(),
            new(InputCodes.EvMsc, InputCodes.MscScan, scan),
            new(InputCodes.EvKey, key, 0),
            Syn(),
        ];
    }

    private static List<InputEvent> TouchStroke(int j)
    {
        int s = j % 10;
        int x = 200 + (350 * s);
        int y = 100 + (200 * s);
        int p = 40 + (20 * s);
        return
        [
            new(InputCodes.EvAbs, InputCodes.AbsX, x),
            new(InputCodes.EvAbs, InputCodes.AbsY, y),
            new(InputCodes.EvAbs, InputCodes.AbsPressure, p),
            new(InputCodes.EvKey, InputCodes.BtnTouch, 1),
            Syn(),
            new(InputCodes.EvAbs, InputCodes.AbsX, x + 100),
            new(InputCodes.EvAbs, InputCodes.AbsY, y + 60),
            Syn(),
            new(InputCodes.EvAbs, InputCodes.AbsPressure, 0),
            new(InputCodes.EvKey, InputCodes.BtnTouch, 0),
            Syn(),
        ];
    }

    private static InputEvent Syn() => new(InputCodes.EvSyn, InputCodes.SynReport, 0);
}
