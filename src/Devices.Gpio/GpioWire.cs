// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Gpio;

/// <summary>The virtio GPIO wire format (virtio 1.2 §5.17).</summary>
internal static class GpioWire
{
    /// <summary><c>VIRTIO_GPIO_F_IRQ</c>: interrupts on the lines, through the event queue.</summary>
    public const ulong FeatureIrq = 1UL << 0;

    /// <summary><c>struct virtio_gpio_config</c>: ngpio (le16), padding[2], gpio_names_size (le32).</summary>
    public const int ConfigSize = 8;

    /// <summary><c>struct virtio_gpio_request</c>: type, gpio (le16), value (le32).</summary>
    public const int RequestSize = 8;

    /// <summary><c>struct virtio_gpio_response</c>: status, value (u8).</summary>
    public const int ResponseSize = 2;

    /// <summary><c>struct virtio_gpio_irq_request</c>: gpio (le16).</summary>
    public const int IrqRequestSize = 2;

    /// <summary><c>struct virtio_gpio_irq_response</c>: status (u8).</summary>
    public const int IrqResponseSize = 1;

    public const int RequestQueue = 0;
    public const int EventQueue = 1;

    public const byte StatusOk = 0;
    public const byte StatusError = 1;

    public const byte IrqStatusInvalid = 0;
    public const byte IrqStatusValid = 1;
}

/// <summary>The requests of the request queue.</summary>
internal enum GpioMessage : ushort
{
    GetLineNames = 1,
    GetDirection = 2,
    SetDirection = 3,
    GetValue = 4,
    SetValue = 5,
    SetIrqType = 6,
}

/// <summary>A line's direction as the driver sets it.</summary>
internal enum GpioDirection : byte
{
    None = 0,
    Out = 1,
    In = 2,
}

/// <summary>The interrupt trigger types (<c>VIRTIO_GPIO_IRQ_TYPE_*</c>).</summary>
internal enum GpioIrqType : byte
{
    None = 0,
    EdgeRising = 1,
    EdgeFalling = 2,
    EdgeBoth = 3,
    LevelHigh = 4,
    LevelLow = 8,
}

/// <summary>Why a request got <c>VIRTIO_GPIO_STATUS_ERR</c> without reaching the host (for the log).</summary>
internal enum BadRequest
{
    /// <summary>Fewer than 8 request bytes.</summary>
    ShortRequest,

    /// <summary>A type the spec does not define.</summary>
    UnknownType,

    /// <summary>A line at or beyond ngpio.</summary>
    LineOutOfRange,

    /// <summary>GET_LINE_NAMES while gpio_names_size is 0.</summary>
    NoNames,

    /// <summary>GET_LINE_NAMES with a response buffer smaller than 1 + gpio_names_size.</summary>
    NamesBufferShort,

    /// <summary>SET_IRQ_TYPE without VIRTIO_GPIO_F_IRQ.</summary>
    IrqNotNegotiated,

    /// <summary>SET_IRQ_TYPE on an output line.</summary>
    IrqOnOutput,

    /// <summary>An IRQ type the spec does not define.</summary>
    BadIrqType,

    /// <summary>A direction or level out of range.</summary>
    ValueOutOfRange,

    /// <summary>An event buffer without 2 readable and 1 writable byte.</summary>
    ShortEventBuffer,

    /// <summary>An event buffer for a line at or beyond ngpio.</summary>
    EventLineOutOfRange,

    /// <summary>A second event buffer for a line that has one queued.</summary>
    DuplicateEventBuffer,
}
