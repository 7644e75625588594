// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Hid.Htt;

/// <summary>
/// How a guest reaches the sensitivity of a display behind <c>vhost-user-input --hidraw</c>: plain
/// virtio-input events, so no guest kernel change is needed.
/// </summary>
/// <remarks>
/// <para>
/// The back end advertises <c>EV_MSC</c> / <c>MSC_RAW</c> (type 4, code 3) on its virtio-input device.
/// The Linux <c>virtio_input</c> driver sends every event of an advertised type that is written to
/// the device's <c>/dev/input/eventX</c> to the status queue (<c>input_inject_event</c> →
/// <c>virtinput_status</c>). Each value carries a 16-bit tag (two ASCII letters) in its high half and
/// a 16-bit payload in its low half:
/// </para>
/// <list type="table">
/// <item><term>'TQ' 0x5451_0000</term><description>guest → device: report the display's state</description></item>
/// <item><term>'TS' 0x5453_000L</term><description>guest → device: set sensitivity L (0 normal, 1 high, 2 extra)</description></item>
/// <item><term>'TC' 0x5443_00TT</term><description>device → guest: controller type (report 4)</description></item>
/// <item><term>'TF' 0x5446_xxxx</term><description>device → guest: firmware bits 15..0 (report 9)</description></item>
/// <item><term>'TG' 0x5447_xxxx</term><description>device → guest: firmware bits 31..16</description></item>
/// <item><term>'TL' 0x544C_00LL</term><description>device → guest: sensitivity (report 7), 0xFF for none</description></item>
/// <item><term>'TE' 0x5445_00SS</term><description>device → guest: status (<see cref="SensitivityStatus"/>), ends the answer</description></item>
/// </list>
/// <para>
/// Every request gets one answer packet on the event queue: TC, TF, TG, TL (when the state is
/// known), then TE, then <c>SYN_REPORT</c>. The answer to a set comes after the display rebooted
/// and the value was read back, or after the timeout. The input core echoes events to every reader
/// of the node, and passes the device's own answers back to the status queue; both sides ignore
/// tags that are not theirs.
/// </para>
/// </remarks>
public static class VirtioInputConvention
{
    /// <summary><c>EV_MSC</c>.</summary>
    public const ushort EventType = 0x04;

    /// <summary><c>MSC_RAW</c>.</summary>
    public const ushort EventCode = 0x03;

    /// <summary>'TQ': query.</summary>
    public const ushort QueryTag = 0x5451;

    /// <summary>'TS': set.</summary>
    public const ushort SetTag = 0x5453;

    /// <summary>'TC': controller type.</summary>
    public const ushort ControllerTag = 0x5443;

    /// <summary>'TF': firmware, low half.</summary>
    public const ushort FirmwareLowTag = 0x5446;

    /// <summary>'TG': firmware, high half.</summary>
    public const ushort FirmwareHighTag = 0x5447;

    /// <summary>'TL': sensitivity level.</summary>
    public const ushort LevelTag = 0x544C;

    /// <summary>'TE': status; the last value of an answer.</summary>
    public const ushort StatusTag = 0x5445;

    /// <summary>The payload of <see cref="LevelTag"/> when the controller has no sensitivity.</summary>
    public const ushort NoLevel = 0xFF;

    /// <summary>The most values in one answer.</summary>
    public const int MaxAnswerValues = 5;

    /// <summary>Packs a tag and a payload into an event value.</summary>
    public static int Encode(ushort tag, ushort payload) => (int)(((uint)tag << 16) | payload);

    /// <summary>The tag of an event value.</summary>
    public static ushort Tag(int value) => (ushort)((uint)value >> 16);

    /// <summary>The payload of an event value.</summary>
    public static ushort Payload(int value) => (ushort)value;

    /// <summary>The value of a query request.</summary>
    public static int Query => Encode(QueryTag, 0);

    /// <summary>The value of a set request.</summary>
    public static int Set(SensitivityLevel level) => Encode(SetTag, (byte)level);

    /// <summary>Writes the answer's values (without the report) into <paramref name="values"/>; returns their count.</summary>
    public static int WriteAnswer(SensitivityStatus status, HttState? state, Span<int> values)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(values.Length, MaxAnswerValues, nameof(values));
        int n = 0;
        if (state is { } s)
        {
            values[n++] = Encode(ControllerTag, (byte)s.Controller);
            values[n++] = Encode(FirmwareLowTag, (ushort)s.Firmware);
            values[n++] = Encode(FirmwareHighTag, (ushort)(s.Firmware >> 16));
            values[n++] = Encode(LevelTag, s.Sensitivity is { } l ? (byte)l : NoLevel);
        }

        values[n++] = Encode(StatusTag, (byte)status);
        return n;
    }
}
