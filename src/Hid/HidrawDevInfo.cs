// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Hid;

/// <summary><c>struct hidraw_devinfo</c>: the bus and the USB ids of a hidraw node.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct HidrawDevInfo
{
    /// <summary>The bus (<c>BUS_USB</c> is 3, <c>BUS_VIRTUAL</c> 6).</summary>
    public uint BusType;

    /// <summary>The vendor id (the kernel's field is signed; read it as unsigned).</summary>
    public ushort Vendor;

    /// <summary>The product id.</summary>
    public ushort Product;
}
