// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.Hid;

/// <summary>
/// The hidraw ioctl numbers of <c>linux/hidraw.h</c>, built with the generic <c>_IOC</c> encoding
/// (x86_64 and arm64 share it).
/// </summary>
public static class HidrawIoctl
{
    private const uint Type = 'H';

    /// <summary><c>sizeof(struct hidraw_devinfo)</c>: u32 bustype, s16 vendor, s16 product.</summary>
    public const uint DevInfoSize = 8;

    /// <summary><c>HIDIOCGRAWINFO</c>: <c>_IOR('H', 0x03, struct hidraw_devinfo)</c>.</summary>
    public static uint GetRawInfo => IoCtl.Ior(Type, 0x03, DevInfoSize);

    /// <summary><c>HIDIOCGRAWNAME(len)</c>: <c>_IOC(_IOC_READ, 'H', 0x04, len)</c>.</summary>
    public static uint GetRawName(int length) => IoCtl.Ior(Type, 0x04, (uint)length);

    /// <summary>
    /// <c>HIDIOCSFEATURE(len)</c>: <c>_IOC(_IOC_WRITE|_IOC_READ, 'H', 0x06, len)</c>; the buffer starts
    /// with the report id.
    /// </summary>
    public static uint SetFeature(int length) => IoCtl.Iowr(Type, 0x06, (uint)length);

    /// <summary>
    /// <c>HIDIOCGFEATURE(len)</c>: <c>_IOC(_IOC_WRITE|_IOC_READ, 'H', 0x07, len)</c>; the caller puts the
    /// report id in byte 0, the reply (report id first) replaces it.
    /// </summary>
    public static uint GetFeature(int length) => IoCtl.Iowr(Type, 0x07, (uint)length);
}
