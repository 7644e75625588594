// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Console;

/// <summary>The control queues (virtio 1.2 §5.3.6.2): port announcements one way, driver state the other.</summary>
public sealed partial class ConsoleLogic
{
    /// <summary>
    /// The control receive queue: sends what each port owes the driver, in the order add, console,
    /// name, open, resize, as long as the driver gives buffers. A message that does not fit its buffer
    /// is dropped (the driver gives a page).
    /// </summary>
    private void SendControl(IVirtqueue queue, DescriptorChain chain)
    {
        bool owed = false;
        foreach (ConsolePort port in _ports)
        {
            owed |= port.Pending != PendingControl.None;
        }

        if (!owed)
        {
            return;
        }

        GuestMemoryMap memory = queue.Memory;
        bool pushed = false;
        queue.DisableNotification();
        foreach (ConsolePort port in _ports)
        {
            while (port.Pending != PendingControl.None)
            {
                int length = BuildMessage(port, out PendingControl sent);
                if (length == 0)
                {
                    port.Pending &= ~sent;
                    continue;
                }

                if (queue.PopNextInBatch(chain) != PopResult.Popped)
                {
                    Finish(queue, pushed);
                    return;
                }

                uint written = 0;
                if (chain.WritableLength < length)
                {
                    Log.ControlBufferTooSmall(_logger, chain.Head, chain.WritableLength, length);
                }
                else
                {
                    int n = ChainBytes.Scatter(memory, chain.Writable, _message.AsSpan(0, length));
                    if (n < 0)
                    {
                        queue.MarkBroken("console: control buffer outside guest memory");
                        return;
                    }

                    written = (uint)n;
                    if (_logger.IsEnabled(LogLevel.Debug))
                    {
                        Log.ControlSent(_logger, port.Id, sent, port.OpenValue);
                    }
                }

                port.Pending &= ~sent;
                port.Announced |= sent == PendingControl.Add;
                queue.PushUsed(chain.Head, written);
                pushed = true;
            }
        }

        Finish(queue, pushed);
    }

    /// <summary>Builds the port's next owed message in <see cref="_message"/>; 0 when it has nothing to say after all.</summary>
    private int BuildMessage(ConsolePort port, out PendingControl which)
    {
        Span<byte> m = _message;
        uint id = (uint)port.Id;
        PendingControl pending = port.Pending;
        if ((pending & PendingControl.Add) != 0)
        {
            which = PendingControl.Add;
            ConsoleWire.WriteControl(m, id, ControlEvent.PortAdd, 0);
            return ConsoleWire.ControlHeaderSize;
        }

        if ((pending & PendingControl.Console) != 0)
        {
            which = PendingControl.Console;
            ConsoleWire.WriteControl(m, id, ControlEvent.ConsolePort, 1);
            return ConsoleWire.ControlHeaderSize;
        }

        if ((pending & PendingControl.Name) != 0)
        {
            which = PendingControl.Name;
            ConsoleWire.WriteControl(m, id, ControlEvent.PortName, 1);
            port.NameBytes.CopyTo(m[ConsoleWire.ControlHeaderSize..]);
            return ConsoleWire.ControlHeaderSize + port.NameBytes.Length;
        }

        if ((pending & PendingControl.Open) != 0)
        {
            which = PendingControl.Open;
            ConsoleWire.WriteControl(m, id, ControlEvent.PortOpen, port.OpenValue ? (ushort)1 : (ushort)0);
            return ConsoleWire.ControlHeaderSize;
        }

        which = PendingControl.Resize;
        if (!port.IsConsole || port.Cols == 0 || port.Rows == 0)
        {
            return 0;
        }

        ConsoleWire.WriteControl(m, id, ControlEvent.Resize, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(m[ConsoleWire.ControlHeaderSize..], port.Cols);
        BinaryPrimitives.WriteUInt16LittleEndian(m[(ConsoleWire.ControlHeaderSize + 2)..], port.Rows);
        return ConsoleWire.ControlHeaderSize + ConsoleWire.ResizePayloadSize;
    }

    /// <summary>
    /// The control transmit queue: every message is completed at once, whatever it says (the driver
    /// spins until it is); malformed ones are logged and ignored.
    /// </summary>
    private void TakeControl(IVirtqueue queue, DescriptorChain chain)
    {
        GuestMemoryMap memory = queue.Memory;
        Span<byte> header = stackalloc byte[ConsoleWire.ControlHeaderSize];
        bool pushed = false;
        queue.DisableNotification();
        while (queue.PopNextInBatch(chain) == PopResult.Popped)
        {
            int n = ChainBytes.Gather(memory, chain.Readable, header);
            if (n < 0)
            {
                queue.MarkBroken("console: control buffer outside guest memory");
                return;
            }

            if (n < ConsoleWire.ControlHeaderSize)
            {
                if (CountBad())
                {
                    ReportBad($"a control message of {n} bytes");
                }
            }
            else
            {
                (uint id, ControlEvent controlEvent, ushort value) = ConsoleWire.ReadControl(header);
                OnDriverMessage(id, controlEvent, value);
            }

            queue.PushUsed(chain.Head, 0);
            pushed = true;
        }

        Finish(queue, pushed);
    }

    private void OnDriverMessage(uint id, ControlEvent controlEvent, ushort value)
    {
        if (controlEvent == ControlEvent.DeviceReady)
        {
            if (value == 0)
            {
                Log.DriverFailed(_logger);
                return;
            }

            foreach (ConsolePort port in _ports)
            {
                port.Pending |= PendingControl.Add;
            }

            Log.DriverReady(_logger, _ports.Length);
            Wake(ConsoleWire.ControlReceiveQueue);
            return;
        }

        if (controlEvent is not (ControlEvent.PortReady or ControlEvent.PortOpen))
        {
            if (CountBad())
            {
                ReportBad($"event {(ushort)controlEvent} for port {id}, which drivers do not send");
            }

            return;
        }

        if (id >= (uint)_ports.Length)
        {
            if (CountBad())
            {
                ReportBad($"event {controlEvent} for port {id} of {_ports.Length}");
            }

            return;
        }

        ConsolePort p = _ports[(int)id];
        if (!p.Announced)
        {
            if (CountBad())
            {
                ReportBad($"event {controlEvent} for port {id}, which the device has not added yet");
            }

            return;
        }

        if (controlEvent == ControlEvent.PortReady)
        {
            OnPortReady(p, value != 0);
        }
        else
        {
            OnGuestOpen(p, value != 0);
        }
    }

    private void OnPortReady(ConsolePort port, bool ok)
    {
        if (!ok)
        {
            Log.PortFailed(_logger, port.Id);
            return;
        }

        port.GuestReady = true;
        PendingControl owed = PendingControl.None;
        if (port.IsConsole)
        {
            owed |= PendingControl.Console | PendingControl.Resize;
        }

        if (port.NameBytes.Length > 0)
        {
            owed |= PendingControl.Name;
        }

        if (port.Endpoint.IsConnected)
        {
            owed |= PendingControl.Open;
            port.OpenValue = true;
        }

        port.Pending |= owed;
        Wake(ConsoleWire.ControlReceiveQueue);
    }

    private void OnGuestOpen(ConsolePort port, bool open)
    {
        if (port.GuestOpen == open)
        {
            return;
        }

        port.GuestOpen = open;
        Log.GuestOpen(_logger, port.Id, open);
        if (open)
        {
            port.HangupPending = false;
            Wake(ConsoleWire.ReceiveQueue(port.Id));
            return;
        }

        UnwatchRx(port);
        if (port.Endpoint.ListenFd is not null && port.Endpoint.IsConnected)
        {
            // The driver's close reaches a socket peer as end of file, after the output the driver
            // queued before closing: the transmit queue hangs up once it has run empty.
            port.HangupPending = true;
            Wake(ConsoleWire.TransmitQueue(port.Id));
        }
    }

    /// <summary>Counts a malformed message; true when it is to be logged (the first at warning level, the rest at debug).</summary>
    private bool CountBad() => _badControlMessages++ == 0 || _logger.IsEnabled(LogLevel.Debug);

    private void ReportBad(string what)
    {
        if (_badControlMessages == 1)
        {
            Log.BadControlFirst(_logger, what);
        }
        else
        {
            Log.BadControl(_logger, what, _badControlMessages);
        }
    }

    private static void Finish(IVirtqueue queue, bool pushed)
    {
        if (pushed)
        {
            queue.NotifyIfNeeded();
        }
    }
}
