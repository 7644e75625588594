// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Gpio.Host;

/// <summary>
/// The GPIO character device's v2 interface (<c>include/uapi/linux/gpio.h</c>): structure sizes,
/// field offsets and ioctl numbers. The structures are filled as bytes at these offsets; sizes and
/// offsets are the same on every 64-bit and 32-bit ABI (the header pads them explicitly).
/// </summary>
internal static class GpioUapi
{
    public const int NameSize = 32;

    /// <summary><c>struct gpiochip_info</c>: name[32], label[32], lines (u32).</summary>
    public const int ChipInfoSize = 68;
    public const int ChipInfoLabel = 32;
    public const int ChipInfoLines = 64;

    /// <summary><c>struct gpio_v2_line_info</c>: name, consumer, offset, num_attrs, flags, attrs[10], padding.</summary>
    public const int LineInfoSize = 256;
    public const int LineInfoOffset = 64;
    public const int LineInfoFlags = 72;

    /// <summary><c>struct gpio_v2_line_config</c>: flags (u64), num_attrs, padding[5], attrs[10] of 24 bytes.</summary>
    public const int ConfigSize = 272;
    public const int ConfigNumAttrs = 8;
    public const int ConfigAttrs = 32;

    /// <summary><c>struct gpio_v2_line_config_attribute</c>: id, padding, value (u64), mask (u64).</summary>
    public const int ConfigAttrSize = 24;

    /// <summary><c>struct gpio_v2_line_request</c>: offsets[64], consumer[32], config, num_lines, event_buffer_size, padding[5], fd.</summary>
    public const int RequestSize = 592;
    public const int RequestConsumer = 256;
    public const int RequestConfig = 288;
    public const int RequestNumLines = 560;
    public const int RequestFd = 588;

    /// <summary><c>struct gpio_v2_line_values</c>: bits, mask (u64).</summary>
    public const int ValuesSize = 16;

    /// <summary><c>struct gpio_v2_line_event</c>: timestamp_ns (u64), id, offset, seqno, line_seqno, padding[6].</summary>
    public const int EventSize = 48;
    public const int EventId = 8;
    public const int EventLineSeqno = 20;

    public const uint EventRisingEdge = 1;

    public const ulong FlagInput = 1UL << 2;
    public const ulong FlagOutput = 1UL << 3;
    public const ulong FlagEdgeRising = 1UL << 4;
    public const ulong FlagEdgeFalling = 1UL << 5;

    /// <summary><c>GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES</c>.</summary>
    public const uint AttrOutputValues = 2;

    private const uint Type = 0xB4;

    public static uint GetChipInfo => IoCtl.Ior(Type, 0x01, ChipInfoSize);

    public static uint GetLineInfo => IoCtl.Iowr(Type, 0x05, LineInfoSize);

    public static uint GetLine => IoCtl.Iowr(Type, 0x07, RequestSize);

    public static uint SetConfig => IoCtl.Iowr(Type, 0x0D, ConfigSize);

    public static uint GetValues => IoCtl.Iowr(Type, 0x0E, ValuesSize);

    public static uint SetValues => IoCtl.Iowr(Type, 0x0F, ValuesSize);
}
