// SPDX-License-Identifier: MIT
using VirtioLoopback.Devices.Gpio.Host;

namespace VirtioLoopback.Devices.Gpio;

/// <summary>
/// One line as the driver configured it, and what the device holds for it. Touched only under the
/// device's lock (see <see cref="GpioLogic"/>).
/// </summary>
internal sealed class GpioLine
{
    public GpioLine(int index, uint hostOffset, string name)
    {
        Index = index;
        HostOffset = hostOffset;
        Name = name;
    }

    /// <summary>The line number the driver uses.</summary>
    public int Index { get; }

    /// <summary>The host chip's line behind it.</summary>
    public uint HostOffset { get; }

    public string Name { get; }

    public GpioDirection Direction { get; set; }

    /// <summary>The level an output drives (set before the direction, as the spec advises).</summary>
    public bool OutputValue { get; set; }

    public GpioIrqType IrqType { get; set; }

    /// <summary>An edge of the enabled type came while the interrupt was masked.</summary>
    public bool Latched { get; set; }

    /// <summary>The requested host line; null while the direction is none.</summary>
    public IGpioLine? Host { get; set; }

    /// <summary>The watch of the host line's edges on the event queue; 0 when not watched.</summary>
    public ulong WatchToken { get; set; }

    /// <summary>The driver's event buffer is here: the interrupt is unmasked.</summary>
    public bool EventHeld { get; set; }

    public ushort EventHead { get; set; }

    /// <summary>Where the held buffer's status byte goes.</summary>
    public ulong StatusAddress { get; set; }

    /// <summary>The held buffer goes back as INVALID (the interrupt was disabled).</summary>
    public bool ReturnInvalid { get; set; }

    /// <summary>The host timestamp of the edge that made the line due (for the latency figure).</summary>
    public ulong EdgeTimestampNs { get; set; }

    /// <summary>The host's per-line number of the last edge read (a gap means the host lost edges).</summary>
    public uint LastLineSeqno { get; set; }
}
