// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The back end's side of one vhost-user session: receives each front-end request, passes it
/// through one validation gate, maps it onto the device, its vrings and the memory table, and
/// answers it. One handler serves one connection at a time; <see cref="Disconnect"/> returns it to
/// its initial state for the next one, so the device and its worker threads outlive connections.
/// </summary>
/// <remarks>
/// <para>
/// Threading: <see cref="HandleMessage"/> and <see cref="Disconnect"/> run on one control thread.
/// Started rings are served by queue threads (<see cref="QueueThreads"/> maps queues to them), and
/// ring changes reach those threads between two callbacks. <see cref="IDeviceHost.NotifyConfigChanged"/>
/// may come from any thread.
/// </para>
/// <para>
/// Failure handling: nothing a front end sends ends the process. A message that fails the gate or
/// whose handler fails is logged and answered with failure: an empty reply for requests that
/// always have a reply, a non-zero <c>REPLY_ACK</c> when it was asked for. Only a framing error,
/// after which the byte stream cannot be trusted, closes the connection.
/// </para>
/// </remarks>
public sealed partial class BackendHandler : IDisposable
{
    /// <summary>The most memory regions <c>ADD_MEM_REG</c> may build up (<c>GET_MAX_MEM_SLOTS</c>).</summary>
    /// <remarks>
    /// 32 is well above the 8 regions <c>SET_MEM_TABLE</c> can carry and what QEMU uses for a
    /// VM with some DIMM hotplug, while keeping the control-path scans of the region table
    /// trivial. libvhost-user offers 509 (KVM's slot count); nothing here needs that many, and a
    /// front end that does will say so at start-up instead of failing later.
    /// </remarks>
    public const int MaxMemSlots = 32;

    /// <summary>Protocol features offered whatever the device is.</summary>
    public const ProtocolFeatures BaseProtocolFeatures =
        ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck | ProtocolFeatures.BackendReq
        | ProtocolFeatures.ResetDevice | ProtocolFeatures.Status | ProtocolFeatures.ConfigureMemSlots;

    private readonly IVirtioDevice _device;
    private readonly ILogger _logger;
    private readonly Vring[] _vrings;
    private readonly QueueThreads _threads;
    private readonly GuestMemoryTable _memoryTable = new();

    // Receive buffers, allocated once: the largest payload any request may carry, and the fds of
    // the message being handled (taken by a handler, or closed after it).
    private readonly byte[] _payload = new byte[MessageRules.MaxPayloadSize];
    private readonly List<FileDescriptor> _fds = new(UnixSocket.MaxFds);
    private uint _takenFds;

    // Session state, control thread only.
    private VhostUserChannel? _channel;
    private ProtocolFeatures _protocolFeatures;
    private ulong _ackedFeatures;
    private bool _featuresAcked;
    private byte _status;
    private InflightRegion? _inflight;
    private Thread? _controlThread;
    private FrontendRequest _currentRequest;
    private bool _disposed;

    /// <summary>
    /// Creates the handler and its vrings, and attaches the device (<see cref="IVirtioDevice.Attach"/>).
    /// No thread runs until a ring starts.
    /// </summary>
    /// <param name="device">The device to serve.</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <param name="queueThreads">
    /// The most threads serving the device's queues (queue <c>i</c> on thread <c>i mod n</c>); null for
    /// one per queue up to the number of CPUs.
    /// </param>
    /// <param name="pollMicroseconds">How long a queue thread polls after activity before it sleeps (<see cref="BackendOptions.PollMicroseconds"/>).</param>
    /// <exception cref="ArgumentException">The device's queue count or maximum queue size is out of range.</exception>
    public BackendHandler(IVirtioDevice device, ILoggerFactory loggerFactory, int? queueThreads = null, int pollMicroseconds = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (device.QueueCount is < 1 or > 256)
        {
            throw new ArgumentException($"A device has 1 to 256 queues (vhost-user indexes them with 8 bits), not {device.QueueCount}.", nameof(device));
        }

        if (device.MaxQueueSize is 0 or > 32768 || (device.MaxQueueSize & (device.MaxQueueSize - 1)) != 0)
        {
            throw new ArgumentException($"The maximum queue size must be a power of two up to 32768, not {device.MaxQueueSize}.", nameof(device));
        }

        if (queueThreads is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(queueThreads), queueThreads, "At least one thread serves the queues.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(pollMicroseconds);

        _device = device;
        _logger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Backend");
        ILogger vringLogger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Backend.Vring");
        _threads = new QueueThreads(device.QueueCount, queueThreads, pollMicroseconds, vringLogger);
        _vrings = new Vring[device.QueueCount];
        for (int i = 0; i < _vrings.Length; i++)
        {
            _vrings[i] = new Vring(i, device, _threads, vringLogger);
        }

        _memoryTable.RegionUnmapped += region => Log.RegionUnmapped(_logger, region);

        Host = new DeviceHost(this, loggerFactory);
        device.Attach(Host);
    }

    /// <summary>The device's vrings, by queue index.</summary>
    public IReadOnlyList<Vring> Vrings => _vrings;

    /// <summary>The memory table the rings are served from now.</summary>
    public GuestMemoryMap Memory => _memoryTable.Current;

    /// <summary>How many regions are mapped: the current table's, plus older ones requests in flight still hold.</summary>
    public int MappedRegions => _memoryTable.MappedRegions;

    /// <summary>The most threads that serve the queues.</summary>
    public int QueueThreadCount => _threads.ThreadCount;

    /// <summary>How many queue threads run now (one per group of queues with a started ring).</summary>
    public int RunningQueueThreads => _threads.Running;

    /// <summary>The services given to the device.</summary>
    public IDeviceHost Host { get; }

    /// <summary>The negotiated protocol features of the current session.</summary>
    public ProtocolFeatures NegotiatedProtocolFeatures => _protocolFeatures;

    /// <summary>The virtio features offered in <c>GET_FEATURES</c>.</summary>
    public ulong OfferedFeatures =>
        (_device.DeviceFeatures & ~VirtioLoopback.Virtio.Queue.VirtioFeatures.RingPacked)
        | VirtioLoopback.Virtio.Queue.VirtioFeatures.RingIndirectDesc
        | VirtioLoopback.Virtio.Queue.VirtioFeatures.RingEventIdx
        | VirtioLoopback.Virtio.Queue.VirtioFeatures.NotifyOnEmpty
        | ProtocolFeatureBits.VhostUserFProtocolFeatures;

    /// <summary>The protocol features offered in <c>GET_PROTOCOL_FEATURES</c>.</summary>
    /// <remarks>
    /// CONFIG is offered only by devices that have a config space: QEMU warns about a back end that
    /// offers it for a device (rng) whose front end never asks for config.
    /// </remarks>
    public ProtocolFeatures OfferedProtocolFeatures =>
        BaseProtocolFeatures | _device.ProtocolFeatures | (_device.ConfigSize > 0 ? ProtocolFeatures.Config : ProtocolFeatures.None);

    /// <summary>
    /// Receives and handles one message from <paramref name="channel"/> (blocking until it is
    /// complete), answering it as the protocol asks.
    /// </summary>
    /// <returns>False when the connection must be closed: the peer hung up, a framing error, or a failed send.</returns>
    public bool HandleMessage(VhostUserChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _controlThread ??= Thread.CurrentThread;
        _channel = channel;
        _fds.Clear();
        _takenFds = 0;
        try
        {
            ReceiveResult result = channel.TryReceiveFrontendRequest(out VhostUserHeader header, _payload, _fds);
            switch (result.Status)
            {
                case ReceiveStatus.Message:
                    Dispatch(header, _payload.AsSpan(0, (int)header.PayloadSize));
                    return true;
                case ReceiveStatus.Malformed when result.StreamIntact:
                    Log.RequestRejected(_logger, header.FrontendRequest, result.Error.ToString());
                    AnswerFailure(header);
                    return true;
                case ReceiveStatus.Malformed:
                    Log.FramingError(_logger, result.Error.ToString());
                    return false;
                case ReceiveStatus.WouldBlock:
                    return true;
                default:
                    return false;
            }
        }
        catch (VhostUserDisconnectedException)
        {
            return false;
        }
        catch (SysException e)
        {
            Log.ConnectionFailed(_logger, e);
            return false;
        }
        finally
        {
            CloseUntakenFds();
        }
    }

    /// <summary>
    /// The front end went away: stops every ring (the device's <see cref="IVirtioDevice.Stop"/> on each
    /// worker), drops the memory table, the inflight region and the back-end channel, resets the
    /// vrings and the device, and forgets the negotiated features. The handler is then ready for a
    /// new connection (QEMU reconnects this way).
    /// </summary>
    public void Disconnect()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ResetDeviceState("front end disconnected");
        PublishMemory(GuestMemoryMap.Empty);
        DisposeBackendChannel();
        _protocolFeatures = ProtocolFeatures.None;
        _channel = null;
    }

    /// <summary>Stops the rings, ends the worker threads and releases every mapping and fd.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Disconnect();
        _disposed = true;
        DisposeVrings();
        _threads.Dispose();
    }

    private void Dispatch(in VhostUserHeader header, ReadOnlySpan<byte> payload)
    {
        FrontendRequest request = header.FrontendRequest;
        _currentRequest = request;
        MessageRules.TryGet(request, out MessageRule rule);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.Request(_logger, request, header.Flags, header.PayloadSize, _fds.Count);
        }

        string? error = CheckRequest(request, payload);
        if (error is not null)
        {
            Log.RequestRejected(_logger, request, error);
        }
        else
        {
            try
            {
                error = Execute(request, payload);
            }
            catch (VhostUserDisconnectedException)
            {
                throw;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.RequestThrew(_logger, e, request);
                error = e.Message;
            }

            if (error is not null)
            {
                Log.RequestFailed(_logger, request, error);
            }
        }

        if (error is not null)
        {
            AnswerFailure(header);
        }
        else if (!rule.HasReply && header.NeedsReply && (_protocolFeatures & ProtocolFeatures.ReplyAck) != 0)
        {
            _channel!.SendU64Reply(header.Request, 0);
        }
    }

    /// <summary>Runs the handler of a request that passed the gate; returns why it failed, or null.</summary>
    private string? Execute(FrontendRequest request, ReadOnlySpan<byte> payload) => request switch
    {
        FrontendRequest.GetFeatures => GetFeatures(),
        FrontendRequest.SetFeatures => SetFeatures(U64Payload.Read(payload).Value),
        FrontendRequest.SetOwner => SetOwner(),
        FrontendRequest.ResetOwner => ResetOwner(),
        FrontendRequest.GetProtocolFeatures => GetProtocolFeatures(),
        FrontendRequest.SetProtocolFeatures => SetProtocolFeatures(U64Payload.Read(payload).Value),
        FrontendRequest.GetQueueNum => Reply((ulong)_device.QueueCount),
        FrontendRequest.SetMemTable => SetMemTable(payload),
        FrontendRequest.GetMaxMemSlots => Reply(MaxMemSlots),
        FrontendRequest.AddMemReg => AddMemReg(SingleMemoryRegion.Read(payload).Region),
        FrontendRequest.RemMemReg => RemMemReg(SingleMemoryRegion.Read(payload).Region),
        FrontendRequest.SetVringNum => SetVringNum(VringState.Read(payload)),
        FrontendRequest.SetVringAddr => SetVringAddr(VringAddress.Read(payload)),
        FrontendRequest.SetVringBase => SetVringBase(VringState.Read(payload)),
        FrontendRequest.GetVringBase => GetVringBase(VringState.Read(payload)),
        FrontendRequest.SetVringKick => SetVringKick(VringIndexWithFd.Read(payload)),
        FrontendRequest.SetVringCall => SetVringCall(VringIndexWithFd.Read(payload)),
        FrontendRequest.SetVringErr => SetVringErr(VringIndexWithFd.Read(payload)),
        FrontendRequest.SetVringEnable => SetVringEnable(VringState.Read(payload)),
        FrontendRequest.GetConfig => GetConfig(payload),
        FrontendRequest.SetConfig => SetConfig(payload),
        FrontendRequest.SetBackendReqFd => SetBackendReqFd(),
        FrontendRequest.GetInflightFd => GetInflightFd(InflightDescription.Read(payload)),
        FrontendRequest.SetInflightFd => SetInflightFd(InflightDescription.Read(payload)),
        FrontendRequest.GetStatus => Reply(_status),
        FrontendRequest.SetStatus => SetStatus((byte)U64Payload.Read(payload).Value),
        FrontendRequest.ResetDevice => ResetDevice(),
        _ => "not supported by this back end",
    };

    /// <summary>
    /// Answers a request that was rejected or failed: requests that always have a reply get a reply
    /// with an empty payload (which every front end rejects as a bad size, so it sees the failure);
    /// others get <c>REPLY_ACK</c> 1 if they asked for an acknowledgement.
    /// </summary>
    private void AnswerFailure(in VhostUserHeader header)
    {
        if (MessageRules.TryGet(header.FrontendRequest, out MessageRule rule) && rule.HasReply)
        {
            _channel!.SendReply(header.Request, ReadOnlySpan<byte>.Empty);
        }
        else if (header.NeedsReply && (_protocolFeatures & ProtocolFeatures.ReplyAck) != 0)
        {
            _channel!.SendU64Reply(header.Request, 1);
        }
    }

    /// <summary>Sends a u64 reply to the current request.</summary>
    private string? Reply(ulong value)
    {
        _channel!.SendU64Reply((uint)_currentRequest, value);
        return null;
    }

    /// <summary>Takes ownership of the message's fd <paramref name="index"/>; untaken fds are closed after the handler.</summary>
    private FileDescriptor TakeFd(int index)
    {
        _takenFds |= 1u << index;
        return _fds[index];
    }

    private void CloseUntakenFds()
    {
        for (int i = 0; i < _fds.Count; i++)
        {
            if ((_takenFds & (1u << i)) == 0)
            {
                _fds[i].Dispose();
            }
        }

        _fds.Clear();
        _takenFds = 0;
    }

    private void DisposeVrings()
    {
        foreach (Vring? vring in _vrings)
        {
            vring?.Dispose();
        }
    }
}
