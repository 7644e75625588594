// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.Devices.Console;

/// <summary>
/// The virtio console's wire format (virtio 1.2 §5.3): feature bits, the config layout, the control
/// message header and its events, and the queue numbering of the multiport layout.
/// </summary>
internal static class ConsoleWire
{
    /// <summary><c>VIRTIO_CONSOLE_F_SIZE</c>: the device reports console sizes.</summary>
    public const ulong FeatureSize = 1UL << 0;

    /// <summary><c>VIRTIO_CONSOLE_F_MULTIPORT</c>: several ports and the control queues.</summary>
    public const ulong FeatureMultiport = 1UL << 1;

    /// <summary><c>struct virtio_console_config</c>: cols, rows (le16), max_nr_ports, emerg_wr (le32).</summary>
    public const int ConfigSize = 12;

    /// <summary><c>struct virtio_console_control</c>: id (le32), event (le16), value (le16).</summary>
    public const int ControlHeaderSize = 8;

    /// <summary><c>struct virtio_console_resize</c> after the header: cols, rows (le16).</summary>
    public const int ResizePayloadSize = 4;

    /// <summary>The id the driver uses in <c>DEVICE_READY</c> (<c>VIRTIO_CONSOLE_BAD_ID</c>).</summary>
    public const uint BadId = uint.MaxValue;

    /// <summary>The receive queue of the control channel (device to driver), <c>c_ivq</c>.</summary>
    public const int ControlReceiveQueue = 2;

    /// <summary>The transmit queue of the control channel (driver to device), <c>c_ovq</c>.</summary>
    public const int ControlTransmitQueue = 3;

    /// <summary>The queue count of a device with <paramref name="ports"/> ports: two per port plus the control pair.</summary>
    public static int QueueCount(int ports) => 2 + (2 * ports);

    /// <summary>Port <paramref name="port"/>'s receive queue (device to driver): 0 for port 0, then 4, 6, ...</summary>
    public static int ReceiveQueue(int port) => port == 0 ? 0 : 2 + (2 * port);

    /// <summary>Port <paramref name="port"/>'s transmit queue (driver to device).</summary>
    public static int TransmitQueue(int port) => ReceiveQueue(port) + 1;

    /// <summary>The port a data queue belongs to, or -1 for the control queues.</summary>
    public static int PortOfQueue(int queue) => queue switch
    {
        0 or 1 => 0,
        ControlReceiveQueue or ControlTransmitQueue => -1,
        _ => (queue - 2) / 2,
    };

    /// <summary>Whether <paramref name="queue"/> is a transmit queue (odd indices, control included).</summary>
    public static bool IsTransmitQueue(int queue) => (queue & 1) != 0;

    /// <summary>Writes a control header.</summary>
    public static void WriteControl(Span<byte> destination, uint id, ControlEvent controlEvent, ushort value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, id);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], (ushort)controlEvent);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], value);
    }

    /// <summary>Reads a control header.</summary>
    public static (uint Id, ControlEvent Event, ushort Value) ReadControl(ReadOnlySpan<byte> source) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(source),
         (ControlEvent)BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
         BinaryPrimitives.ReadUInt16LittleEndian(source[6..]));
}

/// <summary>The control events of virtio 1.2 §5.3.6.2.</summary>
internal enum ControlEvent : ushort
{
    /// <summary>Driver: the driver is ready (value 1) or failed (0).</summary>
    DeviceReady = 0,

    /// <summary>Device: a port exists.</summary>
    PortAdd = 1,

    /// <summary>Device: a port went away.</summary>
    PortRemove = 2,

    /// <summary>Driver: the port is set up (value 1) or failed (0).</summary>
    PortReady = 3,

    /// <summary>Device: the port is a console (an hvc).</summary>
    ConsolePort = 4,

    /// <summary>Device: the console's size, followed by cols and rows.</summary>
    Resize = 5,

    /// <summary>Both: the sender's side of the port opened (1) or closed (0).</summary>
    PortOpen = 6,

    /// <summary>Device: the port's name follows the header.</summary>
    PortName = 7,
}
