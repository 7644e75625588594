// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Gpio.Host;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Gpio;

/// <summary>The request queue (virtio 1.2 §5.17.6): one request and one response per chain.</summary>
public sealed partial class GpioLogic
{
    /// <summary>
    /// Answers every available request. A request that is short, names a line beyond ngpio, carries
    /// a value out of range or fails on the host gets <c>VIRTIO_GPIO_STATUS_ERR</c>; a response buffer
    /// too small for the answer gets the status alone (or nothing, when it has no byte at all).
    /// </summary>
    private void ServeRequests(IVirtqueue queue, DescriptorChain chain)
    {
        GuestMemoryMap memory = queue.Memory;
        Span<byte> request = stackalloc byte[GpioWire.RequestSize];
        Span<byte> response = stackalloc byte[GpioWire.ResponseSize];
        bool pushed = false;
        queue.DisableNotification();
        while (queue.PopNextInBatch(chain) == PopResult.Popped)
        {
            int n = ChainBytes.Gather(memory, chain.Readable, request);
            if (n < 0)
            {
                queue.MarkBroken("gpio: request buffer outside guest memory");
                return;
            }

            uint written;
            if (n == GpioWire.RequestSize
                && (GpioMessage)BinaryPrimitives.ReadUInt16LittleEndian(request) == GpioMessage.GetLineNames)
            {
                written = AnswerNames(memory, chain);
            }
            else
            {
                response[1] = 0;
                response[0] = n < GpioWire.RequestSize
                    ? Bad(BadRequest.ShortRequest, 0, (uint)n)
                    : Handle(request, out response[1]);
                int w = ChainBytes.Scatter(memory, chain.Writable, response);
                if (w < 0)
                {
                    queue.MarkBroken("gpio: response buffer outside guest memory");
                    return;
                }

                written = (uint)w;
            }

            queue.PushUsed(chain.Head, written);
            pushed = true;
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }
    }

    /// <summary>GET_LINE_NAMES: the status and the whole names block, or ERR when there is no block or no room for it.</summary>
    private uint AnswerNames(GuestMemoryMap memory, DescriptorChain chain)
    {
        Span<byte> status = stackalloc byte[1];
        int n;
        if (_names.Length == 0 || chain.WritableLength < 1 + (uint)_names.Length)
        {
            status[0] = _names.Length == 0
                ? Bad(BadRequest.NoNames, 0, 0)
                : Bad(BadRequest.NamesBufferShort, 0, chain.WritableLength);
            n = ChainBytes.Scatter(memory, chain.Writable, status);
            return n < 0 ? 0 : (uint)n;
        }

        status[0] = GpioWire.StatusOk;
        n = ChainBytes.Scatter(memory, chain.Writable, status);
        int m = ChainBytes.ScatterAt(memory, chain.Writable, 1, _names);
        return n < 0 || m < 0 ? 0 : (uint)(n + m);
    }

    /// <summary>Carries out one request; returns the status and sets the response value.</summary>
    private byte Handle(ReadOnlySpan<byte> request, out byte value)
    {
        value = 0;
        GpioMessage type = (GpioMessage)BinaryPrimitives.ReadUInt16LittleEndian(request);
        ushort index = BinaryPrimitives.ReadUInt16LittleEndian(request[2..]);
        uint arg = BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
        if (type is < GpioMessage.GetDirection or > GpioMessage.SetIrqType)
        {
            return Bad(BadRequest.UnknownType, index, (ushort)type);
        }

        if (index >= _lines.Length)
        {
            return Bad(BadRequest.LineOutOfRange, index, (ushort)type);
        }

        GpioLine line = _lines[index];
        int errno;
        switch (type)
        {
            case GpioMessage.GetDirection:
                value = (byte)DirectionOf(line);
                return GpioWire.StatusOk;
            case GpioMessage.SetDirection when arg <= (uint)GpioDirection.In:
                errno = SetDirection(line, (GpioDirection)arg);
                break;
            case GpioMessage.GetValue:
                errno = GetValue(line, out bool level);
                value = level ? (byte)1 : (byte)0;
                break;
            case GpioMessage.SetValue when arg <= 1:
                errno = SetValue(line, arg == 1);
                break;
            case GpioMessage.SetIrqType when !_irq:
                return Bad(BadRequest.IrqNotNegotiated, index, arg);
            case GpioMessage.SetIrqType when IsIrqType(arg):
                if (line.Direction == GpioDirection.Out)
                {
                    return Bad(BadRequest.IrqOnOutput, index, arg);
                }

                errno = SetIrqType(line, (GpioIrqType)arg);
                break;
            default:
                return Bad(type == GpioMessage.SetIrqType ? BadRequest.BadIrqType : BadRequest.ValueOutOfRange, index, arg);
        }

        if (errno != 0)
        {
            Log.HostFailed(_logger, type, index, line.HostOffset, Errno.Describe(errno));
            return GpioWire.StatusError;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.Request(_logger, type, index, arg, value);
        }

        return GpioWire.StatusOk;
    }

    private static bool IsIrqType(uint value) => value is 0 or 1 or 2 or 3 or 4 or 8;

    /// <summary>The configured direction, or the host's for a line the driver has not configured.</summary>
    private GpioDirection DirectionOf(GpioLine line)
    {
        if (line.Direction != GpioDirection.None)
        {
            return line.Direction;
        }

        if (_chip.GetLineInfo(line.HostOffset, out HostLineInfo info) != 0)
        {
            return GpioDirection.None;
        }

        return info.IsOutput ? GpioDirection.Out : info.IsInput ? GpioDirection.In : GpioDirection.None;
    }

    private int SetDirection(GpioLine line, GpioDirection direction)
    {
        if (direction == GpioDirection.None)
        {
            // The spec: all state of the line is discarded.
            DisableIrq(line);
            ReleaseHost(line);
            line.Direction = GpioDirection.None;
            return 0;
        }

        if (direction == GpioDirection.Out)
        {
            DisableIrq(line);
        }

        LineSettings settings = direction == GpioDirection.Out
            ? new LineSettings(HostDirection.Output, line.OutputValue, false)
            : new LineSettings(HostDirection.Input, false, line.IrqType != GpioIrqType.None);
        int errno = Apply(line, settings);
        if (errno == 0)
        {
            line.Direction = direction;
        }

        return errno;
    }

    private int GetValue(GpioLine line, out bool value)
    {
        if (line.Host is { } host)
        {
            return host.GetValue(out value);
        }

        // Not configured by the driver: read it as it is, without keeping it.
        using IGpioLine? once = _chip.Request(line.HostOffset, new LineSettings(HostDirection.AsIs, false, false), out int errno);
        value = false;
        return once is null ? errno : once.GetValue(out value);
    }

    private static int SetValue(GpioLine line, bool value)
    {
        line.OutputValue = value;
        return line.Direction == GpioDirection.Out && line.Host is { } host ? host.SetValue(value) : 0;
    }

    private int SetIrqType(GpioLine line, GpioIrqType type)
    {
        if (type == GpioIrqType.None)
        {
            if (line.IrqType != GpioIrqType.None)
            {
                DisableIrq(line);
                if (line.Host is not null)
                {
                    return Apply(line, new LineSettings(HostDirection.Input, false, false));
                }
            }

            return 0;
        }

        // Edges are reported from here on; one seen while masked is latched from now.
        int errno = Apply(line, new LineSettings(HostDirection.Input, false, true));
        if (errno != 0)
        {
            return errno;
        }

        line.Direction = GpioDirection.In;
        line.IrqType = type;
        line.Latched = false;
        WatchEdges(line);

        // A buffer queued before the interrupt was enabled may be due at once (a level already active).
        if (line.EventHeld)
        {
            Wake(GpioWire.EventQueue);
        }

        return 0;
    }

    /// <summary>Requests the host line with <paramref name="settings"/>, or changes the request it has.</summary>
    private int Apply(GpioLine line, LineSettings settings)
    {
        if (line.Host is { } host)
        {
            return host.Reconfigure(settings);
        }

        IGpioLine? requested = _chip.Request(line.HostOffset, settings, out int errno);
        if (requested is null)
        {
            return errno;
        }

        line.Host = requested;
        return 0;
    }

    /// <summary>Counts a bad request and logs it (the first at warning level); returns the ERR status.</summary>
    private byte Bad(BadRequest why, int line, uint detail)
    {
        if (_badRequests++ == 0)
        {
            Log.BadRequestFirst(_logger, why, line, detail);
        }
        else if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.BadRequest(_logger, why, line, detail, _badRequests);
        }

        return GpioWire.StatusError;
    }
}
