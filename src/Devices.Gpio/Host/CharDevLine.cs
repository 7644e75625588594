// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Gpio.Host;

/// <summary>One line requested through <c>GPIO_V2_GET_LINE_IOCTL</c>; closing its fd releases it.</summary>
internal sealed class CharDevLine : IGpioLine
{
    // Up to this many edges per read; the buffer lives as long as the line (no allocation per read).
    private const int EdgesPerRead = 16;
    private readonly byte[] _events = new byte[EdgesPerRead * GpioUapi.EventSize];

    public CharDevLine(FileDescriptor fd) => Fd = fd;

    /// <inheritdoc />
    public FileDescriptor Fd { get; }

    /// <inheritdoc />
    public int Reconfigure(LineSettings settings)
    {
        Span<byte> config = stackalloc byte[GpioUapi.ConfigSize];
        CharDevChip.WriteConfig(config, settings);
        return CharDevChip.Invoke(Fd, GpioUapi.SetConfig, config);
    }

    /// <inheritdoc />
    public int GetValue(out bool value)
    {
        Span<byte> values = stackalloc byte[GpioUapi.ValuesSize];
        values.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(values[8..], 1UL);
        int errno = CharDevChip.Invoke(Fd, GpioUapi.GetValues, values);
        value = errno == 0 && (BinaryPrimitives.ReadUInt64LittleEndian(values) & 1) != 0;
        return errno;
    }

    /// <inheritdoc />
    public int SetValue(bool value)
    {
        Span<byte> values = stackalloc byte[GpioUapi.ValuesSize];
        BinaryPrimitives.WriteUInt64LittleEndian(values, value ? 1UL : 0UL);
        BinaryPrimitives.WriteUInt64LittleEndian(values[8..], 1UL);
        return CharDevChip.Invoke(Fd, GpioUapi.SetValues, values);
    }

    /// <inheritdoc />
    public int ReadEdges(Span<HostEdge> edges)
    {
        int want = Math.Min(edges.Length, EdgesPerRead);
        int n;
        try
        {
            n = FileIo.Read(Fd, _events.AsSpan(0, want * GpioUapi.EventSize));
        }
        catch (SysException e)
        {
            return -e.Errno;
        }

        if (n < 0)
        {
            return 0;
        }

        int count = n / GpioUapi.EventSize;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> e = _events.AsSpan(i * GpioUapi.EventSize, GpioUapi.EventSize);
            edges[i] = new HostEdge(
                BinaryPrimitives.ReadUInt32LittleEndian(e[GpioUapi.EventId..]) == GpioUapi.EventRisingEdge,
                BinaryPrimitives.ReadUInt64LittleEndian(e),
                BinaryPrimitives.ReadUInt32LittleEndian(e[GpioUapi.EventLineSeqno..]));
        }

        return count;
    }

    /// <inheritdoc />
    public void Dispose() => Fd.Dispose();
}
