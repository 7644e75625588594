// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Gpio.Host;

/// <summary>
/// A host chip through the GPIO character device, v2 interface (<c>/dev/gpiochipN</c>). Each line the
/// driver configures is requested alone, so lines change direction and edge detection independently.
/// </summary>
internal sealed class CharDevChip : IGpioChip
{
    /// <summary>The consumer name the host shows for lines the back end holds.</summary>
    public const string Consumer = "vhost-user-gpio";

    private readonly FileDescriptor _fd;

    private CharDevChip(FileDescriptor fd, string path, string label, uint lines)
    {
        _fd = fd;
        Description = $"{path} ({label}, {lines} lines)";
        Label = label;
        LineCount = lines;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>The chip's label (gpio-sim: <c>gpio-sim.0-node0</c>).</summary>
    public string Label { get; }

    /// <inheritdoc />
    public uint LineCount { get; }

    /// <summary>
    /// Opens a chip by path (<c>/dev/gpiochip3</c>), by name (<c>gpiochip3</c>) or by label (the first
    /// chip under <c>/dev</c> whose label matches).
    /// </summary>
    /// <exception cref="IOException">No such chip, or it cannot be opened (<see cref="SysException"/>).</exception>
    public static CharDevChip Open(string chip)
    {
        ArgumentException.ThrowIfNullOrEmpty(chip);
        if (chip.StartsWith('/'))
        {
            return OpenPath(chip);
        }

        if (chip.StartsWith("gpiochip", StringComparison.Ordinal) && File.Exists("/dev/" + chip))
        {
            return OpenPath("/dev/" + chip);
        }

        foreach (string path in Directory.EnumerateFiles("/dev", "gpiochip*"))
        {
            CharDevChip candidate;
            try
            {
                candidate = OpenPath(path);
            }
            catch (IOException)
            {
                continue;
            }

            if (candidate.Label == chip)
            {
                return candidate;
            }

            candidate.Dispose();
        }

        throw new IOException($"no GPIO chip named or labelled '{chip}' under /dev");
    }

    /// <inheritdoc />
    public int GetLineInfo(uint offset, out HostLineInfo info)
    {
        Span<byte> b = stackalloc byte[GpioUapi.LineInfoSize];
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b[GpioUapi.LineInfoOffset..], offset);
        int errno = Invoke(_fd, GpioUapi.GetLineInfo, b);
        if (errno != 0)
        {
            info = default;
            return errno;
        }

        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(b[GpioUapi.LineInfoFlags..]);
        info = new HostLineInfo(CString(b[..GpioUapi.NameSize]), (flags & GpioUapi.FlagOutput) != 0, (flags & GpioUapi.FlagInput) != 0);
        return 0;
    }

    /// <inheritdoc />
    public IGpioLine? Request(uint offset, LineSettings settings, out int errno)
    {
        Span<byte> b = stackalloc byte[GpioUapi.RequestSize];
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, offset);
        Encoding.ASCII.GetBytes(Consumer, b.Slice(GpioUapi.RequestConsumer, GpioUapi.NameSize - 1));
        WriteConfig(b.Slice(GpioUapi.RequestConfig, GpioUapi.ConfigSize), settings);
        BinaryPrimitives.WriteUInt32LittleEndian(b[GpioUapi.RequestNumLines..], 1);
        errno = Invoke(_fd, GpioUapi.GetLine, b);
        if (errno != 0)
        {
            return null;
        }

        FileDescriptor line = FileDescriptor.Adopt(BinaryPrimitives.ReadInt32LittleEndian(b[GpioUapi.RequestFd..]));
        try
        {
            FileIo.SetNonBlocking(line, true);
        }
        catch
        {
            line.Dispose();
            throw;
        }

        return new CharDevLine(line);
    }

    /// <inheritdoc />
    public void Dispose() => _fd.Dispose();

    /// <summary>Fills a <c>struct gpio_v2_line_config</c> for one line.</summary>
    internal static void WriteConfig(Span<byte> config, LineSettings settings)
    {
        config.Clear();
        ulong flags = settings.Direction switch
        {
            HostDirection.Input => GpioUapi.FlagInput | (settings.Edges ? GpioUapi.FlagEdgeRising | GpioUapi.FlagEdgeFalling : 0),
            HostDirection.Output => GpioUapi.FlagOutput,
            _ => 0,
        };
        BinaryPrimitives.WriteUInt64LittleEndian(config, flags);
        if (settings.Direction == HostDirection.Output)
        {
            // The level goes with the request, so the line never drives a stale value.
            BinaryPrimitives.WriteUInt32LittleEndian(config[GpioUapi.ConfigNumAttrs..], 1);
            Span<byte> attr = config.Slice(GpioUapi.ConfigAttrs, GpioUapi.ConfigAttrSize);
            BinaryPrimitives.WriteUInt32LittleEndian(attr, GpioUapi.AttrOutputValues);
            BinaryPrimitives.WriteUInt64LittleEndian(attr[8..], settings.Value ? 1UL : 0UL);
            BinaryPrimitives.WriteUInt64LittleEndian(attr[16..], 1UL);
        }
    }

    /// <summary>One ioctl: 0 or the errno.</summary>
    internal static int Invoke(FileDescriptor fd, uint request, Span<byte> argument) =>
        IoCtl.TryInvoke(fd, request, argument, out int errno) ? 0 : errno;

    private static CharDevChip OpenPath(string path)
    {
        FileDescriptor handle = FileIo.Open(path, LibC.O_RDWR);
        Span<byte> info = stackalloc byte[GpioUapi.ChipInfoSize];
        info.Clear();
        int errno = Invoke(handle, GpioUapi.GetChipInfo, info);
        if (errno != 0)
        {
            handle.Dispose();
            Errno.Throw($"GPIO_GET_CHIPINFO_IOCTL {path}", errno);
        }

        return new CharDevChip(handle, path, CString(info.Slice(GpioUapi.ChipInfoLabel, GpioUapi.NameSize)), BinaryPrimitives.ReadUInt32LittleEndian(info[GpioUapi.ChipInfoLines..]));
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
