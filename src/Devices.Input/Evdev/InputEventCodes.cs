// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Input.Evdev;

/// <summary>The event types, codes and limits of <c>linux/input-event-codes.h</c> the device uses.</summary>
public static class InputEventCodes
{
    /// <summary><c>EV_SYN</c>: synchronisation events.</summary>
    public const ushort EvSyn = 0x00;

    /// <summary><c>EV_KEY</c>: keys and buttons.</summary>
    public const ushort EvKey = 0x01;

    /// <summary><c>EV_REL</c>: relative axes.</summary>
    public const ushort EvRel = 0x02;

    /// <summary><c>EV_ABS</c>: absolute axes.</summary>
    public const ushort EvAbs = 0x03;

    /// <summary><c>EV_MSC</c>: miscellaneous.</summary>
    public const ushort EvMsc = 0x04;

    /// <summary><c>EV_SW</c>: switches.</summary>
    public const ushort EvSw = 0x05;

    /// <summary><c>EV_LED</c>: LEDs (driver to device through the status queue).</summary>
    public const ushort EvLed = 0x11;

    /// <summary><c>EV_SND</c>: sounds (driver to device through the status queue).</summary>
    public const ushort EvSnd = 0x12;

    /// <summary><c>EV_REP</c>: autorepeat.</summary>
    public const ushort EvRep = 0x14;

    /// <summary><c>EV_FF</c>: force feedback (not carried by virtio-input).</summary>
    public const ushort EvFf = 0x15;

    /// <summary><c>EV_PWR</c>: power events.</summary>
    public const ushort EvPwr = 0x16;

    /// <summary><c>EV_FF_STATUS</c>: force-feedback status (not carried by virtio-input).</summary>
    public const ushort EvFfStatus = 0x17;

    /// <summary><c>EV_MAX</c>.</summary>
    public const int EvMax = 0x1f;

    /// <summary><c>SYN_REPORT</c>: ends a packet of events.</summary>
    public const ushort SynReport = 0;

    /// <summary><c>SYN_DROPPED</c>: the evdev client buffer overran; events were lost.</summary>
    public const ushort SynDropped = 3;

    /// <summary><c>REP_DELAY</c>.</summary>
    public const int RepDelay = 0;

    /// <summary><c>REP_PERIOD</c>.</summary>
    public const int RepPeriod = 1;

    /// <summary><c>KEY_MAX</c>.</summary>
    public const int KeyMax = 0x2ff;

    /// <summary><c>SW_MAX</c>.</summary>
    public const int SwMax = 0x10;

    /// <summary><c>ABS_MAX</c>.</summary>
    public const int AbsMax = 0x3f;

    /// <summary><c>ABS_MT_SLOT</c>, the first multi-touch axis (per-slot state is not resynchronised).</summary>
    public const int AbsMtSlot = 0x2f;

    /// <summary><c>INPUT_PROP_MAX</c>.</summary>
    public const int InputPropMax = 0x1f;
}
