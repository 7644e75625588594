// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;

namespace VirtioLoopback.Devices.Input.Evdev;

/// <summary>One input event as virtio-input carries it: <c>struct virtio_input_event</c> without the byte order.</summary>
/// <param name="Type">The event type (<c>EV_*</c>).</param>
/// <param name="Code">The event code.</param>
/// <param name="Value">The event value.</param>
public readonly record struct InputEvent(ushort Type, ushort Code, int Value)
{
    /// <summary>The size of <c>struct virtio_input_event</c> on the wire (le16, le16, le32).</summary>
    public const int WireSize = 8;

    /// <summary>The <c>EV_SYN</c>/<c>SYN_REPORT</c> event that ends a packet.</summary>
    public static InputEvent Report => default;

    /// <summary>Whether this is <c>EV_SYN</c>/<c>SYN_REPORT</c>.</summary>
    public bool IsReport => Type == InputEventCodes.EvSyn && Code == InputEventCodes.SynReport;
}

/// <summary><c>struct input_id</c> / <c>struct virtio_input_devids</c>.</summary>
/// <param name="BusType">The bus (<c>BUS_USB</c>, ...).</param>
/// <param name="Vendor">The vendor id.</param>
/// <param name="Product">The product id.</param>
/// <param name="Version">The version.</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct InputDeviceIds(ushort BusType, ushort Vendor, ushort Product, ushort Version);

/// <summary><c>struct input_absinfo</c>: an absolute axis' current value and range.</summary>
/// <param name="Value">The current value (not part of the virtio config).</param>
/// <param name="Minimum">The minimum value.</param>
/// <param name="Maximum">The maximum value.</param>
/// <param name="Fuzz">The noise filter.</param>
/// <param name="Flat">The dead zone.</param>
/// <param name="Resolution">Units per millimetre (or per radian).</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct InputAbsInfo(int Value, int Minimum, int Maximum, int Fuzz, int Flat, int Resolution)
{
    /// <summary>Whether the ranges (everything but <see cref="Value"/>) are equal.</summary>
    public bool SameRange(InputAbsInfo other) =>
        Minimum == other.Minimum && Maximum == other.Maximum && Fuzz == other.Fuzz && Flat == other.Flat
        && Resolution == other.Resolution;
}

/// <summary>The outcome of reading an evdev node.</summary>
public enum EvdevReadStatus
{
    /// <summary>Events were read; there may be more.</summary>
    Ok,

    /// <summary>No events are pending (<c>EAGAIN</c>).</summary>
    WouldBlock,

    /// <summary>The device is gone (<c>ENODEV</c>, a hang-up or an I/O error).</summary>
    Gone,
}

/// <summary>
/// An open input event device: what the back end needs from <c>/dev/input/eventN</c>. The real one
/// is <see cref="EvdevDevice"/>; tests supply fakes.
/// </summary>
/// <remarks>
/// Queries return the number of bytes the kernel filled, or -1 when the ioctl failed (for example
/// <c>EVIOCGUNIQ</c> on a device without a serial, or <c>EVIOCGBIT</c> for a type with no bitmap).
/// </remarks>
public interface IEvdevDevice : IDisposable
{
    /// <summary>The descriptor to watch for readability; null for devices that are not fds.</summary>
    Sys.FileDescriptor? PollHandle { get; }

    /// <summary><c>EVIOCGNAME</c> into <paramref name="buffer"/>; returns the string's length without its NUL.</summary>
    int GetName(Span<byte> buffer);

    /// <summary><c>EVIOCGUNIQ</c>; returns the string's length without its NUL, -1 when there is none.</summary>
    int GetUniq(Span<byte> buffer);

    /// <summary><c>EVIOCGID</c>.</summary>
    InputDeviceIds GetIds();

    /// <summary><c>EVIOCGPROP</c>; returns the bytes filled or -1.</summary>
    int GetPropertyBits(Span<byte> bitmap);

    /// <summary><c>EVIOCGBIT(type)</c>; type 0 gives the supported event types. Returns the bytes filled or -1.</summary>
    int GetEventBits(int eventType, Span<byte> bitmap);

    /// <summary><c>EVIOCGABS(axis)</c>.</summary>
    bool TryGetAbsInfo(int axis, out InputAbsInfo info);

    /// <summary><c>EVIOCGKEY</c>: the keys held now. Returns the bytes filled or -1.</summary>
    int GetKeyState(Span<byte> bitmap);

    /// <summary><c>EVIOCGSW</c>: the switches set now. Returns the bytes filled or -1.</summary>
    int GetSwitchState(Span<byte> bitmap);

    /// <summary>Reads pending events without blocking into <paramref name="events"/>.</summary>
    EvdevReadStatus Read(Span<InputEvent> events, out int count);

    /// <summary>
    /// Writes <paramref name="inputEvent"/> followed by <c>SYN_REPORT</c> to the device (LEDs, sounds).
    /// Returns 0 or the errno of the failed write.
    /// </summary>
    int Write(InputEvent inputEvent);
}

/// <summary>Opens (and reopens, after the node disappeared) one evdev node.</summary>
public interface IEvdevOpener
{
    /// <summary>The node's path, for messages.</summary>
    string Path { get; }

    /// <summary>Opens and (unless configured not to) grabs the node; false with the errno on failure.</summary>
    bool TryOpen([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IEvdevDevice? device, out int errno);
}
