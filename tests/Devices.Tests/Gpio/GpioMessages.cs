// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.Tests.Gpio;

/// <summary>The driver's side of the virtio-gpio wire format, as the tests write it.</summary>
internal static class GpioMessages
{
    /// <summary>A <c>struct virtio_gpio_request</c>.</summary>
    public static byte[] Request(ushort type, ushort line, uint value)
    {
        byte[] r = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(r, type);
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(2), line);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(4), value);
        return r;
    }

    /// <summary>A <c>struct virtio_gpio_irq_request</c>.</summary>
    public static byte[] IrqRequest(ushort line)
    {
        byte[] r = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(r, line);
        return r;
    }
}
