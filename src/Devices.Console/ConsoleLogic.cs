// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Console.Endpoints;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Console;

/// <summary>
/// The virtio console device (virtio 1.2 §5.3, device id 3) with the multiport feature: every port
/// has a receive and a transmit queue, and the control queues announce the ports, their names, which
/// are consoles (<c>/dev/hvcN</c>), console sizes, and the open state of each side.
/// </summary>
/// <remarks>
/// <para>Queue work, by thread (see <see cref="IDeviceLogic"/>; all under one lock):</para>
/// <list type="bullet">
/// <item>a port's transmit queue writes the driver's bytes to the peer; when the peer stops taking
/// them, it holds that chain and watches the peer's fd for writability (hvc output waits for each
/// chain, so a slow peer slows the guest's console, as a slow serial line would);</item>
/// <item>a port's receive queue reads the peer's bytes straight into the driver's buffers, only while
/// the driver has the port open (the driver drops data for a closed port) and only while it has
/// buffers: without either, the peer's fd is not watched and its data waits in the kernel;</item>
/// <item>the control receive queue sends the messages ports owe the driver, accepts socket peers and
/// polls ptys; the control transmit queue takes the driver's messages and always completes them at
/// once (the driver busy-waits for each).</item>
/// </list>
/// <para>
/// With no peer connected, the driver's output is dropped (a serial line with nothing attached); the
/// driver learns the peer's state through <c>PORT_OPEN</c>. The driver closing a serial port hangs
/// up a socket peer, so the close reaches the host side as end of file.
/// </para>
/// </remarks>
public sealed partial class ConsoleLogic : IDeviceLogic, IDisposable
{
    /// <summary>The virtio device id of consoles.</summary>
    public const uint VirtioIdConsole = 3;

    /// <summary>The most ports one device serves (34 queues).</summary>
    public const int MaxPorts = 16;

    /// <summary>The queue size limit offered to the front end.</summary>
    public const ushort DefaultMaxQueueSize = 256;

    /// <summary>
    /// How long a console's output waits for a peer that takes nothing; then it is dropped until the
    /// peer takes data again. The driver spins with interrupts off for each console buffer (hvc's
    /// <c>put_chars</c>), so a console cannot wait as long as a serial port can. Through the
    /// loopback the module posts console buffers and gives up on a back end that takes nothing for
    /// 1.5 s, so this stays below that; under a loaded guest a peer can miss a quarter second, so it
    /// stays well above that.
    /// </summary>
    public static readonly TimeSpan ConsoleStall = TimeSpan.FromSeconds(1);

    /// <summary>How often ptys are asked whether their slave is open and what size it has.</summary>
    public static readonly TimeSpan PollPeriod = TimeSpan.FromMilliseconds(250);

    // Watch tokens: a serial number above a port number and a kind, so a readiness reported for an
    // fd that was unwatched since (or replaced) matches no current token.
    private const int KindBits = 3;
    private const int PortBits = 5;
    private const ulong KindListen = 1;
    private const ulong KindRx = 2;
    private const ulong KindTx = 3;
    private const ulong KindTimer = 4;
    private const ulong KindStall = 5;

    private readonly ConsolePort[] _ports;
    private readonly DescriptorChain?[] _chains;
    private readonly byte[] _message = new byte[ConsoleWire.ControlHeaderSize + PortSpec.MaxNameLength];
    private IQueueScheduler? _scheduler;
    private ILogger _logger = NullLogger.Instance;
    private TimerFd? _pollTimer;
    private ulong _timerToken;
    private ulong _nextSerial = 1;
    private bool _multiport = true;
    private long _badControlMessages;
    private bool _disposed;

    internal ConsoleLogic(ConsolePort[] ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        if (ports.Length is 0 or > MaxPorts)
        {
            throw new ArgumentOutOfRangeException(nameof(ports), $"A console has 1 to {MaxPorts} ports.");
        }

        _ports = ports;
        _chains = new DescriptorChain?[ConsoleWire.QueueCount(ports.Length)];
    }

    /// <summary>The ports as given (for diagnostics and tests).</summary>
    internal IReadOnlyList<ConsolePort> Ports => _ports;

    /// <inheritdoc />
    public uint DeviceId => VirtioIdConsole;

    /// <inheritdoc />
    public ulong DeviceFeatures => VirtioFeatures.Version1 | ConsoleWire.FeatureSize | ConsoleWire.FeatureMultiport;

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => ProtocolFeatures.Config | ProtocolFeatures.Mq;

    /// <inheritdoc />
    public int QueueCount => _chains.Length;

    /// <inheritdoc />
    public ushort MaxQueueSize => DefaultMaxQueueSize;

    /// <inheritdoc />
    public int ConfigSize => ConsoleWire.ConfigSize;

    // The queue that accepts peers and polls ptys: the control receive queue, or port 0's receive
    // queue for a driver without multiport (it never starts the control queues).
    private int HostQueue => _multiport ? ConsoleWire.ControlReceiveQueue : 0;

    /// <summary>
    /// Opens every port's host side (listening sockets, ptys, files) and creates the device. Nothing
    /// is left open when it throws.
    /// </summary>
    /// <exception cref="ArgumentException">No ports, too many, or two ports with one name.</exception>
    /// <exception cref="System.IO.IOException">A host side cannot be opened (<see cref="SysException"/> included).</exception>
    public static ConsoleLogic Create(IReadOnlyList<PortSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        if (specs.Count is 0 or > MaxPorts)
        {
            throw new ArgumentException($"A console has 1 to {MaxPorts} ports, not {specs.Count}.", nameof(specs));
        }

        HashSet<string> names = new(StringComparer.Ordinal);
        foreach (PortSpec spec in specs)
        {
            if (spec.Name is not null && !names.Add(spec.Name))
            {
                throw new ArgumentException($"Two ports are named '{spec.Name}'.", nameof(specs));
            }
        }

        List<ConsolePort> ports = new(specs.Count);
        try
        {
            foreach (PortSpec spec in specs)
            {
                PortEndpoint endpoint = spec.Endpoint switch
                {
                    EndpointKind.Socket => SocketEndpoint.Listen(spec.Path!),
                    EndpointKind.File => FileEndpoint.Open(spec.Path!),
                    _ => PtyEndpoint.Create(spec.Path),
                };
                ports.Add(new ConsolePort(ports.Count, spec, endpoint));
            }
        }
        catch
        {
            foreach (ConsolePort p in ports)
            {
                p.Endpoint.Dispose();
            }

            throw;
        }

        return new ConsoleLogic(ports.ToArray());
    }

    /// <inheritdoc />
    public void Attach(IQueueScheduler scheduler, IDeviceHost host)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(host);
        _scheduler = scheduler;
        _logger = host.LoggerFactory.CreateLogger("VirtioLoopback.Devices.Console");
        foreach (ConsolePort port in _ports)
        {
            string where = port.Endpoint is PtyEndpoint pty ? $"{port.Spec} ({pty.SlavePath})" : port.Spec.ToString();
            Log.PortConfigured(_logger, port.Id, where);
            if (port.Endpoint.NeedsPolling)
            {
                port.Endpoint.PollPeer();
                RefreshSize(port);
            }
        }

        WatchHostSides();
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[ConsoleWire.ConfigSize];
        ConsolePort first = _ports[0];
        if (first.IsConsole)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(config, first.Cols);
            BinaryPrimitives.WriteUInt16LittleEndian(config[2..], first.Rows);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(config[4..], (uint)_ports.Length);
        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data) => false;

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features)
    {
        bool multiport = (features & ConsoleWire.FeatureMultiport) != 0;
        if (multiport != _multiport)
        {
            UnwatchHostSides();
            _multiport = multiport;
            WatchHostSides();
        }

        if (!multiport)
        {
            // Without multiport the driver makes port 0 its console at once and sends no control
            // messages; the other ports stay unused.
            _ports[0].GuestReady = true;
            _ports[0].GuestOpen = true;
            Log.SinglePort(_logger, _ports.Length);
        }
    }

    /// <inheritdoc />
    public void QueueStarted(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        DescriptorChain? chain = _chains[index];
        if (chain is null || chain.Capacity != queue.Size)
        {
            _chains[index] = new DescriptorChain(Math.Max((int)queue.Size, 1));
            int port = ConsoleWire.PortOfQueue(index);
            if (port >= 0 && port < _ports.Length && !ConsoleWire.IsTransmitQueue(index) && _ports[port].RxHeld)
            {
                // The held receive buffer belonged to a ring of another size: it is not ours any more.
                _ports[port].RxHeld = false;
            }
        }
    }

    /// <inheritdoc />
    public void ServiceQueue(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.IsBroken || !queue.IsEnabled || _chains[index] is not { } chain)
        {
            return;
        }

        switch (index)
        {
            case ConsoleWire.ControlReceiveQueue when _multiport:
                SendControl(queue, chain);
                break;
            case ConsoleWire.ControlTransmitQueue when _multiport:
                TakeControl(queue, chain);
                break;
            default:
                int p = ConsoleWire.PortOfQueue(index);
                if (p < 0 || p >= _ports.Length || (!_multiport && p != 0))
                {
                    return;
                }

                if (ConsoleWire.IsTransmitQueue(index))
                {
                    Transmit(_ports[p], queue, chain);
                }
                else
                {
                    Receive(_ports[p], queue, chain);
                }

                break;
        }
    }

    /// <inheritdoc />
    public void OnReady(int index, IVirtqueue queue, ulong token)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ulong kind = token & ((1UL << KindBits) - 1);
        if (kind == KindTimer)
        {
            if (token == _timerToken && _pollTimer is not null)
            {
                _pollTimer.TryRead(out _);
                PollPtys();
            }

            return;
        }

        int p = (int)((token >> KindBits) & ((1UL << PortBits) - 1));
        if (p >= _ports.Length)
        {
            return;
        }

        ConsolePort port = _ports[p];
        if (kind == KindListen && token == port.ListenToken)
        {
            AcceptPeer(port);
        }
        else if (kind == KindRx && token == port.RxToken)
        {
            ServiceQueue(index, queue);
        }
        else if (kind == KindTx && token == port.TxToken)
        {
            // The peer takes data again.
            UnwatchTx(port);
            StopStallTimer(port);
            if (port.TxDropping)
            {
                port.TxDropping = false;
                Log.ConsoleOutputResumed(_logger, port.Id, port.BytesDropped);
            }

            ServiceQueue(index, queue);
        }
        else if (kind == KindStall && token == port.StallToken)
        {
            StopStallTimer(port);
            if (port.TxHeld && !port.TxDropping)
            {
                port.TxDropping = true;
                Log.ConsoleOutputDropped(_logger, port.Id, (int)ConsoleStall.TotalMilliseconds);
                ServiceQueue(index, queue);
            }
        }
    }

    /// <inheritdoc />
    public void QueueStopped(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        int p = ConsoleWire.PortOfQueue(index);
        if (p < 0 || p >= _ports.Length)
        {
            return;
        }

        ConsolePort port = _ports[p];
        if (ConsoleWire.IsTransmitQueue(index))
        {
            // The rest of a held chain is dropped: the ring's indices must be exact when it stops.
            UnwatchTx(port);
            StopStallTimer(port);
            if (port.TxHeld && _chains[index] is { } chain)
            {
                port.TxHeld = false;
                queue.PushUsed(chain.Head, 0);
                queue.NotifyIfNeeded();
            }
        }
        else
        {
            // A held receive buffer stays popped: the ring keeps its place, and the buffer is filled
            // when the ring runs again (a reset forgets it).
            UnwatchRx(port);
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        foreach (ConsolePort port in _ports)
        {
            port.Announced = false;
            port.GuestReady = false;
            port.GuestOpen = false;
            port.Pending = PendingControl.None;
            port.TxHeld = false;
            port.RxHeld = false;
            port.HangupPending = false;
            port.TxDropping = false;
            UnwatchRx(port);
            UnwatchTx(port);
            StopStallTimer(port);
        }

        if (!_multiport)
        {
            UnwatchHostSides();
            _multiport = true;
            WatchHostSides();
        }
    }

    /// <summary>Closes every port's host side.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (ConsolePort port in _ports)
        {
            port.Endpoint.Dispose();
            port.StallTimer?.Dispose();
        }

        _pollTimer?.Dispose();
    }

    private ulong NewToken(int port, ulong kind) => (_nextSerial++ << (KindBits + PortBits)) | ((ulong)port << KindBits) | kind;

    private void Wake(int queue) => _scheduler?.Wake(queue);
}
