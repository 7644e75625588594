// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Input.Evdev;

/// <summary>
/// The evdev ioctl numbers of <c>linux/input.h</c>, built with the generic <c>_IOC</c> encoding
/// (<c>dir &lt;&lt; 30 | size &lt;&lt; 16 | 'E' &lt;&lt; 8 | nr</c>), which x86_64 and arm64 share.
/// </summary>
public static class EvdevIoctl
{
    private const uint Type = 'E';

    /// <summary><c>sizeof(struct input_id)</c>.</summary>
    private const uint InputIdSize = 8;

    /// <summary><c>sizeof(struct input_absinfo)</c>.</summary>
    private const uint InputAbsInfoSize = 24;

    /// <summary><c>EVIOCGVERSION</c>: <c>_IOR('E', 0x01, int)</c>.</summary>
    public static uint GetVersion => IoCtl.Ior(Type, 0x01, sizeof(int));

    /// <summary><c>EVIOCGID</c>: <c>_IOR('E', 0x02, struct input_id)</c>.</summary>
    public static uint GetId => IoCtl.Ior(Type, 0x02, InputIdSize);

    /// <summary><c>EVIOCGRAB</c>: <c>_IOW('E', 0x90, int)</c>; the argument is the value, not a pointer.</summary>
    public static uint Grab => IoCtl.Iow(Type, 0x90, sizeof(int));

    /// <summary><c>EVIOCGNAME(len)</c>: <c>_IOC(_IOC_READ, 'E', 0x06, len)</c>.</summary>
    public static uint GetName(int length) => IoCtl.Ior(Type, 0x06, (uint)length);

    /// <summary><c>EVIOCGUNIQ(len)</c>: <c>_IOC(_IOC_READ, 'E', 0x08, len)</c>.</summary>
    public static uint GetUniq(int length) => IoCtl.Ior(Type, 0x08, (uint)length);

    /// <summary><c>EVIOCGPROP(len)</c>: <c>_IOC(_IOC_READ, 'E', 0x09, len)</c>.</summary>
    public static uint GetProperties(int length) => IoCtl.Ior(Type, 0x09, (uint)length);

    /// <summary><c>EVIOCGKEY(len)</c>: the current key state, <c>_IOC(_IOC_READ, 'E', 0x18, len)</c>.</summary>
    public static uint GetKeyState(int length) => IoCtl.Ior(Type, 0x18, (uint)length);

    /// <summary><c>EVIOCGSW(len)</c>: the current switch state, <c>_IOC(_IOC_READ, 'E', 0x1b, len)</c>.</summary>
    public static uint GetSwitchState(int length) => IoCtl.Ior(Type, 0x1b, (uint)length);

    /// <summary><c>EVIOCGBIT(ev, len)</c>: <c>_IOC(_IOC_READ, 'E', 0x20 + ev, len)</c>; ev 0 gives the event types.</summary>
    public static uint GetBits(int eventType, int length) => IoCtl.Ior(Type, 0x20 + (uint)eventType, (uint)length);

    /// <summary><c>EVIOCGABS(abs)</c>: <c>_IOR('E', 0x40 + abs, struct input_absinfo)</c>.</summary>
    public static uint GetAbs(int axis) => IoCtl.Ior(Type, 0x40 + (uint)axis, InputAbsInfoSize);
}
