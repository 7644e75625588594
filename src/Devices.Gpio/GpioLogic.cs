// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Gpio.Host;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Gpio;

/// <summary>
/// The virtio GPIO device (virtio 1.2 §5.17, device id 41) in front of lines of a host chip: the
/// request queue reads names, directions and values and configures interrupts; the event queue holds
/// one buffer per unmasked line and returns it when the line's interrupt fires.
/// </summary>
/// <remarks>
/// <para>
/// Each line the driver gives a direction is requested from the host chip on its own, with both
/// edges reported while its interrupt is enabled; a line with direction none is released. Edge
/// interrupts latch while masked (one latch, like an interrupt controller's pending bit); level
/// interrupts are evaluated from the line's level when the buffer comes back, and are never latched.
/// </para>
/// <para>
/// Threads (see <see cref="IDeviceLogic"/>): the request queue does the host ioctls of the requests;
/// the event queue watches the requested lines' fds and owns the held buffers. A request that must
/// return an event buffer (interrupt disabled, direction none) marks the line and wakes the event queue.
/// </para>
/// </remarks>
public sealed partial class GpioLogic : IDeviceLogic, IDisposable
{
    /// <summary>The virtio device id of GPIO devices.</summary>
    public const uint VirtioIdGpio = 41;

    /// <summary>
    /// The queue size limit offered to the front end: QEMU's generic vhost-user front end (8.2 and
    /// later, which vhost-user-gpio-pci uses) asks for 1024-entry queues.
    /// </summary>
    public const ushort DefaultMaxQueueSize = 1024;

    /// <summary>The most lines one device exposes (ngpio is 16 bits).</summary>
    public const int MaxLines = 65535;

    private const int TokenLineBits = 16;

    private readonly IGpioChip _chip;
    private readonly GpioLine[] _lines;
    private readonly byte[] _names;
    private readonly DescriptorChain?[] _chains = new DescriptorChain?[2];
    private readonly HostEdge[] _edges = new HostEdge[16];
    private IQueueScheduler? _scheduler;
    private ILogger _logger = NullLogger.Instance;
    private bool _irq;
    private ulong _nextSerial = 1;
    private long _badRequests;
    private long _delivered;
    private long _latencySumNs;
    private long _latencyMaxNs;
    private bool _disposed;

    internal GpioLogic(IGpioChip chip, GpioLine[] lines)
    {
        ArgumentNullException.ThrowIfNull(chip);
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Length is 0 or > MaxLines)
        {
            throw new ArgumentOutOfRangeException(nameof(lines), $"A GPIO device has 1 to {MaxLines} lines.");
        }

        _chip = chip;
        _lines = lines;
        _names = BuildNames(lines);
    }

    /// <inheritdoc />
    public uint DeviceId => VirtioIdGpio;

    /// <inheritdoc />
    public ulong DeviceFeatures => VirtioFeatures.Version1 | GpioWire.FeatureIrq;

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => ProtocolFeatures.Config | ProtocolFeatures.Mq;

    /// <inheritdoc />
    public int QueueCount => 2;

    /// <inheritdoc />
    public ushort MaxQueueSize => DefaultMaxQueueSize;

    /// <inheritdoc />
    public int ConfigSize => GpioWire.ConfigSize;

    /// <summary>The size of the names block (<c>gpio_names_size</c>); 0 when no line has a name.</summary>
    internal int NamesSize => _names.Length;

    internal IReadOnlyList<GpioLine> Lines => _lines;

    /// <summary>
    /// Opens <paramref name="chipName"/> (a path, a gpiochipN name, a label, or <c>wired:N</c> for a
    /// <see cref="WiredChip"/> of N lines) and exposes
    /// <paramref name="offsets"/> of it (all lines when null), in that order.
    /// </summary>
    /// <exception cref="System.IO.IOException">The chip cannot be opened or a line read.</exception>
    /// <exception cref="ArgumentException">An offset is beyond the chip, or given twice.</exception>
    public static GpioLogic Open(string chipName, IReadOnlyList<uint>? offsets)
    {
        ArgumentException.ThrowIfNullOrEmpty(chipName);
        IGpioChip chip = chipName.StartsWith(WiredChip.Prefix, StringComparison.Ordinal)
            ? new WiredChip(ParseWiredLines(chipName))
            : CharDevChip.Open(chipName);
        try
        {
            return Create(chip, offsets);
        }
        catch
        {
            chip.Dispose();
            throw;
        }
    }

    private static int ParseWiredLines(string chipName)
    {
        string count = chipName[WiredChip.Prefix.Length..];
        if (!int.TryParse(count, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int lines)
            || lines is < 1 or > MaxLines)
        {
            throw new ArgumentException($"{WiredChip.Prefix}N takes a line count from 1 to {MaxLines}, not '{count}'");
        }

        return lines;
    }

    /// <summary>Exposes <paramref name="offsets"/> of <paramref name="chip"/> (all lines when null); the device owns the chip.</summary>
    internal static GpioLogic Create(IGpioChip chip, IReadOnlyList<uint>? offsets)
    {
        if (chip.LineCount == 0)
        {
            throw new ArgumentException($"{chip.Description} has no lines.");
        }

        uint count = offsets is null ? chip.LineCount : (uint)offsets.Count;
        if (count > MaxLines)
        {
            throw new ArgumentException($"{count} lines; a GPIO device has at most {MaxLines}.");
        }

        HashSet<uint> seen = new();
        GpioLine[] lines = new GpioLine[count];
        for (int i = 0; i < lines.Length; i++)
        {
            uint offset = offsets is null ? (uint)i : offsets[i];
            if (offset >= chip.LineCount || !seen.Add(offset))
            {
                throw new ArgumentException(offset >= chip.LineCount
                    ? $"line {offset} is beyond {chip.Description}"
                    : $"line {offset} is given twice");
            }

            int errno = chip.GetLineInfo(offset, out HostLineInfo info);
            if (errno != 0)
            {
                throw new VirtioLoopback.Sys.SysException($"GPIO_V2_GET_LINEINFO_IOCTL line {offset}", errno);
            }

            lines[i] = new GpioLine(i, offset, info.Name);
        }

        return new GpioLogic(chip, lines);
    }

    /// <inheritdoc />
    public void Attach(IQueueScheduler scheduler, IDeviceHost host)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(host);
        _scheduler = scheduler;
        _logger = host.LoggerFactory.CreateLogger("VirtioLoopback.Devices.Gpio");
        Log.Configured(_logger, _chip.Description, _lines.Length, _names.Length);
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[GpioWire.ConfigSize];
        config.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(config, (ushort)_lines.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(config[4..], (uint)_names.Length);
        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data) => false;

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features) => _irq = (features & GpioWire.FeatureIrq) != 0;

    /// <inheritdoc />
    public void QueueStarted(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (index is GpioWire.RequestQueue or GpioWire.EventQueue && _chains[index]?.Capacity != queue.Size)
        {
            _chains[index] = new DescriptorChain(Math.Max((int)queue.Size, 1));
        }
    }

    /// <inheritdoc />
    public void ServiceQueue(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.IsBroken || !queue.IsEnabled || index > GpioWire.EventQueue || _chains[index] is not { } chain)
        {
            return;
        }

        if (index == GpioWire.RequestQueue)
        {
            ServeRequests(queue, chain);
        }
        else
        {
            ServeEvents(queue, chain);
        }
    }

    /// <inheritdoc />
    public void OnReady(int index, IVirtqueue queue, ulong token)
    {
        ArgumentNullException.ThrowIfNull(queue);
        int line = (int)(token & ((1UL << TokenLineBits) - 1));
        if (index != GpioWire.EventQueue || line >= _lines.Length || _lines[line].WatchToken != token)
        {
            return;
        }

        TakeEdges(_lines[line], queue);
    }

    /// <inheritdoc />
    public void QueueStopped(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (index != GpioWire.EventQueue)
        {
            return;
        }

        // Held buffers go back as INVALID: the driver queues them again while the line stays
        // unmasked, so nothing is lost when the ring restarts, and the indices are exact now.
        bool pushed = false;
        foreach (GpioLine line in _lines)
        {
            if (line.EventHeld)
            {
                pushed |= ReturnEvent(line, queue, GpioWire.IrqStatusInvalid);
            }
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }

        if (_delivered > 0)
        {
            Log.InterruptSummary(_logger, _delivered, _latencySumNs / _delivered / 1000, _latencyMaxNs / 1000);
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        foreach (GpioLine line in _lines)
        {
            ReleaseHost(line);
            line.Direction = GpioDirection.None;
            line.OutputValue = false;
            line.IrqType = GpioIrqType.None;
            line.Latched = false;
            line.EventHeld = false;
            line.ReturnInvalid = false;
        }

        _irq = false;
    }

    /// <summary>Releases every host line and the chip.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (GpioLine line in _lines)
        {
            line.Host?.Dispose();
            line.Host = null;
        }

        _chip.Dispose();
    }

    /// <summary>
    /// The <c>gpio_names</c> block: each line's name and a NUL, in line order; empty when no line
    /// has a name. Names are 7-bit ASCII and unique (the spec's rule): other bytes become '?', and a
    /// repeated name is left out.
    /// </summary>
    private static byte[] BuildNames(GpioLine[] lines)
    {
        HashSet<string> seen = new(StringComparer.Ordinal);
        List<byte> block = new();
        bool any = false;
        foreach (GpioLine line in lines)
        {
            string name = line.Name;
            if (name.Length > 0 && seen.Add(name))
            {
                any = true;
                foreach (char c in name)
                {
                    block.Add(c is > (char)0 and < (char)0x80 ? (byte)c : (byte)'?');
                }
            }

            block.Add(0);
        }

        return any ? block.ToArray() : Array.Empty<byte>();
    }

    private void Wake(int queue) => _scheduler?.Wake(queue);

    private ulong NewToken(int line) => (_nextSerial++ << TokenLineBits) | (uint)line;
}
