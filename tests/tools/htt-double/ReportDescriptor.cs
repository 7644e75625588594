// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Tools.HttDouble;

/// <summary>
/// The double's HID report descriptor: a single-finger touch screen (input report 1: tip switch,
/// 16-bit X and Y from 0 to 4095) that hid-generic turns into an evdev node, and a vendor
/// collection with the HTT feature reports 4 (controller type, 1 byte), 7 (sensitivity, 1 byte)
/// and 9 (firmware, 4 bytes). Written from the HID 1.11 item encoding, not taken from a device.
/// </summary>
internal static class ReportDescriptor
{
    public const byte TouchReport = 1;

    /// <summary>Input report 1's length: id, tip byte, X, Y.</summary>
    public const int TouchReportLength = 6;

    public const int Maximum = 4095;

    public static readonly byte[] Bytes =
    [
        0x05, 0x0D,             // Usage Page (Digitizer)
        0x09, 0x04,             // Usage (Touch Screen)
        0xA1, 0x01,             // Collection (Application)
        0x85, TouchReport,      //   Report ID (1)
        0x09, 0x22,             //   Usage (Finger)
        0xA1, 0x02,             //   Collection (Logical)
        0x09, 0x42,             //     Usage (Tip Switch)
        0x15, 0x00,             //     Logical Minimum (0)
        0x25, 0x01,             //     Logical Maximum (1)
        0x75, 0x01,             //     Report Size (1)
        0x95, 0x01,             //     Report Count (1)
        0x81, 0x02,             //     Input (Data, Variable, Absolute)
        0x75, 0x07,             //     Report Size (7)
        0x81, 0x03,             //     Input (Constant): padding
        0x05, 0x01,             //     Usage Page (Generic Desktop)
        0x09, 0x30,             //     Usage (X)
        0x09, 0x31,             //     Usage (Y)
        0x15, 0x00,             //     Logical Minimum (0)
        0x26, 0xFF, 0x0F,       //     Logical Maximum (4095)
        0x75, 0x10,             //     Report Size (16)
        0x95, 0x02,             //     Report Count (2)
        0x81, 0x02,             //     Input (Data, Variable, Absolute)
        0xC0,                   //   End Collection
        0xC0,                   // End Collection
        0x06, 0x00, 0xFF,       // Usage Page (Vendor 0xFF00)
        0x09, 0x01,             // Usage (1)
        0xA1, 0x01,             // Collection (Application)
        0x15, 0x00,             //   Logical Minimum (0)
        0x26, 0xFF, 0x00,       //   Logical Maximum (255)
        0x75, 0x08,             //   Report Size (8)
        0x85, 0x04,             //   Report ID (4): controller type
        0x09, 0x04,             //   Usage (4)
        0x95, 0x01,             //   Report Count (1)
        0xB1, 0x02,             //   Feature (Data, Variable, Absolute)
        0x85, 0x07,             //   Report ID (7): sensitivity
        0x09, 0x07,             //   Usage (7)
        0x95, 0x01,             //   Report Count (1)
        0xB1, 0x02,             //   Feature (Data, Variable, Absolute)
        0x85, 0x09,             //   Report ID (9): firmware
        0x09, 0x09,             //   Usage (9)
        0x95, 0x04,             //   Report Count (4)
        0xB1, 0x02,             //   Feature (Data, Variable, Absolute)
        0xC0,                   // End Collection
    ];
}
