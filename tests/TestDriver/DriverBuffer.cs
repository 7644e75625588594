// SPDX-License-Identifier: MIT
namespace VirtioLoopback.TestDriver;

/// <summary>One buffer the test driver puts in a descriptor: guest physical address, length, direction.</summary>
/// <param name="Gpa">The buffer's guest physical address.</param>
/// <param name="Length">The buffer's length in bytes.</param>
/// <param name="IsWritable">Whether the device writes it (<c>VIRTQ_DESC_F_WRITE</c>).</param>
public readonly record struct DriverBuffer(ulong Gpa, uint Length, bool IsWritable)
{
    /// <summary>A buffer the device reads (driver to device).</summary>
    public static DriverBuffer DeviceReadable(ulong gpa, uint length) => new(gpa, length, false);

    /// <summary>A buffer the device writes (device to driver).</summary>
    public static DriverBuffer DeviceWritable(ulong gpa, uint length) => new(gpa, length, true);
}
