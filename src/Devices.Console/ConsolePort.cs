// SPDX-License-Identifier: MIT
using System;
using System.Text;
using VirtioLoopback.Devices.Console.Endpoints;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console;

/// <summary>Control messages a port still owes the driver, sent in this order.</summary>
[Flags]
internal enum PendingControl
{
    None = 0,
    Add = 1,
    Console = 2,
    Name = 4,
    Open = 8,
    Resize = 16,
}

/// <summary>
/// One port's state: what the driver knows of it, the host side, and the chains it holds. Touched only
/// under the device's lock (see <see cref="ConsoleLogic"/>).
/// </summary>
internal sealed class ConsolePort
{
    public ConsolePort(int id, PortSpec spec, PortEndpoint endpoint)
    {
        Id = id;
        Spec = spec;
        Endpoint = endpoint;
        NameBytes = spec.Name is null ? Array.Empty<byte>() : Encoding.ASCII.GetBytes(spec.Name);
        Cols = spec.Cols;
        Rows = spec.Rows;
    }

    public int Id { get; }

    public PortSpec Spec { get; }

    public PortEndpoint Endpoint { get; }

    public byte[] NameBytes { get; }

    public bool IsConsole => Spec.Kind == PortKind.Console;

    /// <summary>The device sent this port's <c>DEVICE_ADD</c> since the driver's <c>DEVICE_READY</c>.</summary>
    public bool Announced { get; set; }

    /// <summary>The driver answered <c>PORT_READY(1)</c>: it takes messages for this port.</summary>
    public bool GuestReady { get; set; }

    /// <summary>The driver's side is open (<c>PORT_OPEN(1)</c>; always for consoles): host data may flow in.</summary>
    public bool GuestOpen { get; set; }

    public PendingControl Pending { get; set; }

    /// <summary>The value of the pending <c>PORT_OPEN</c>: the host side's state when it is sent.</summary>
    public bool OpenValue { get; set; }

    /// <summary>The console size the host side last reported (0: unknown).</summary>
    public ushort Cols { get; set; }

    public ushort Rows { get; set; }

    /// <summary>A transmit chain waits for the peer to take more; its position is below.</summary>
    public bool TxHeld { get; set; }

    public int TxIndex { get; set; }

    public uint TxOffset { get; set; }

    /// <summary>
    /// The driver closed the port while its output may still be in the transmit ring: the socket
    /// peer is hung up once the transmit queue has run empty.
    /// </summary>
    public bool HangupPending { get; set; }

    /// <summary>A receive chain was popped and waits for host data.</summary>
    public bool RxHeld { get; set; }

    /// <summary>
    /// A console's peer stopped taking output for longer than <see cref="ConsoleLogic.ConsoleStall"/>:
    /// its output is dropped until its fd is writable again.
    /// </summary>
    public bool TxDropping { get; set; }

    /// <summary>The one-shot timer that ends a console's wait for a stalled peer (created when first needed).</summary>
    public TimerFd? StallTimer { get; set; }

    public ulong StallToken { get; set; }

    public ulong ListenToken { get; set; }

    public ulong RxToken { get; set; }

    public ulong TxToken { get; set; }

    public long BytesToHost { get; set; }

    public long BytesToGuest { get; set; }

    public long BytesDropped { get; set; }
}
