// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Hid;

/// <summary>One hidraw node as the system describes it (sysfs <c>uevent</c> or <c>HIDIOCGRAWINFO</c>).</summary>
/// <param name="Path">The device node, for example <c>/dev/hidraw0</c>.</param>
/// <param name="Vendor">The vendor id.</param>
/// <param name="Product">The product id.</param>
/// <param name="Name">The HID name (<c>HID_NAME</c>), empty when unknown.</param>
/// <param name="Phys">The physical path (<c>HID_PHYS</c>): stays the same when the device re-enumerates
/// on the same port; empty when unknown.</param>
public sealed record HidrawNode(string Path, ushort Vendor, ushort Product, string Name, string Phys)
{
    /// <summary>Whether <paramref name="other"/> is the same device seen again (same ids and port).</summary>
    public bool SameDevice(HidrawNode other) =>
        other is not null && other.Vendor == Vendor && other.Product == Product
        && (Phys.Length == 0 || other.Phys.Length == 0 || other.Phys == Phys);
}
