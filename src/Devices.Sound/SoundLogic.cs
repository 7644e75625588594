// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Sound.Endpoints;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Sound;

/// <summary>
/// The virtio sound device (virtio 1.2 §5.14, device id 25): a playback stream, a capture stream or
/// both, on one card with one PCM device, each with a jack and channel maps.
/// </summary>
/// <remarks>
/// <para>Queue work (see <see cref="IDeviceLogic"/>; all under one lock):</para>
/// <list type="bullet">
/// <item>the control queue answers every request at once and changes the streams' states; what the
/// data queues must do about it (start the clock, return held messages) is handed to them with a
/// wake;</item>
/// <item>the transmit and receive queues hold each stream's I/O messages in order, move their frames
/// to or from the stream's endpoint as fast as it takes them, and complete each when the endpoint's
/// clock has played or captured its last frame; a timer per stream wakes the queue for the next one.
/// The clock is the endpoint's: an ALSA device's hardware, or the host's monotonic clock for a file;
/// never the guest's.</item>
/// <item>the event queue's buffers stay with the device: jacks never change, and underruns are
/// bridged by the device (silence played, frames dropped) instead of reported.</item>
/// </list>
/// </remarks>
public sealed partial class SoundLogic : IDeviceLogic, IDisposable
{
    /// <summary>The virtio device id of sound devices.</summary>
    public const uint VirtioIdSound = 25;

    /// <summary>The largest queue size accepted: QEMU's vhost-user-snd asks for 1024.</summary>
    public const ushort DefaultMaxQueueSize = 1024;

    /// <summary>Largest period or buffer accepted (bytes): a second of 8 channels of 64-bit samples at 192 kHz.</summary>
    public const uint MaxBufferBytes = 192_000 * 8 * 8;

    private readonly PcmStream[] _streams;
    private readonly List<(byte Direction, byte[] Positions)> _chmaps = new();
    private readonly DescriptorChain?[] _chains = new DescriptorChain?[SoundWire.QueueCount];
    private readonly byte[] _response = new byte[SoundWire.MaxResponseSize];
    private readonly TimeProvider _time;
    private IQueueScheduler? _scheduler;
    private ILogger _logger = NullLogger.Instance;
    private ulong _nextToken = 1;
    private long _badRequests;
    private bool _disposed;

    /// <summary>Creates the device with a playback stream, a capture stream, or both (in that order).</summary>
    /// <param name="sink">Where playback goes; null for no playback stream.</param>
    /// <param name="source">Where capture comes from; null for no capture stream.</param>
    /// <param name="time">The device clock (tests pass a fake one).</param>
    public SoundLogic(IPlaybackSink? sink, ICaptureSource? source, TimeProvider? time = null)
    {
        if (sink is null && source is null)
        {
            throw new ArgumentException("A sound device needs a playback sink, a capture source, or both.");
        }

        _time = time ?? TimeProvider.System;
        List<PcmStream> streams = new(2);
        if (sink is not null)
        {
            streams.Add(PcmStream.Playback(streams.Count, sink));
        }

        if (source is not null)
        {
            streams.Add(PcmStream.Capture(streams.Count, source));
        }

        _streams = streams.ToArray();
        foreach (PcmStream s in _streams)
        {
            if (s.Endpoint.ChannelsMin <= 1)
            {
                _chmaps.Add((s.Direction, [SoundWire.ChmapMono]));
            }

            if (s.Endpoint.ChannelsMax >= 2 && s.Endpoint.ChannelsMin <= 2)
            {
                _chmaps.Add((s.Direction, [SoundWire.ChmapFrontLeft, SoundWire.ChmapFrontRight]));
            }
        }
    }

    /// <inheritdoc />
    public uint DeviceId => VirtioIdSound;

    /// <inheritdoc />
    public ulong DeviceFeatures => VirtioFeatures.Version1;

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => ProtocolFeatures.Config | ProtocolFeatures.Mq;

    /// <inheritdoc />
    public int QueueCount => SoundWire.QueueCount;

    /// <inheritdoc />
    public ushort MaxQueueSize => DefaultMaxQueueSize;

    /// <inheritdoc />
    public int ConfigSize => SoundWire.ConfigSize;

    /// <summary>Control requests answered with an error so far.</summary>
    internal long BadRequests => _badRequests;

    // One jack per stream: the line out of the playback stream, the microphone of the capture stream.
    private int JackCount => _streams.Length;

    /// <inheritdoc />
    public void Attach(IQueueScheduler scheduler, IDeviceHost host)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(host);
        _scheduler = scheduler;
        _logger = host.LoggerFactory.CreateLogger("VirtioLoopback.Devices.Sound");
        foreach (PcmStream s in _streams)
        {
            Log.StreamConfigured(_logger, s.Id, s.Direction == SoundWire.DirectionOutput ? "playback" : "capture", s.Endpoint.Description);
            s.Timer = TimerFd.CreateMonotonic();
            s.TimerToken = _nextToken++;
            scheduler.Watch(s.TimerToken, s.Timer.Handle, s.DataQueue, EpollEvents.In);
        }
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[SoundWire.ConfigSize];
        BinaryPrimitives.WriteUInt32LittleEndian(config, (uint)JackCount);
        BinaryPrimitives.WriteUInt32LittleEndian(config[4..], (uint)_streams.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(config[8..], (uint)_chmaps.Count);
        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data) => false;

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features)
    {
    }

    /// <inheritdoc />
    public void QueueStarted(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        DescriptorChain? chain = _chains[index];
        if (chain is null || chain.Capacity != queue.Size)
        {
            _chains[index] = new DescriptorChain(Math.Max((int)queue.Size, 1));
        }

        foreach (PcmStream s in _streams)
        {
            if (s.DataQueue == index)
            {
                s.Held.Resize(queue.Size);
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
            case SoundWire.ControlQueue:
                ServiceControl(queue, chain);
                break;
            case SoundWire.TxQueue:
            case SoundWire.RxQueue:
                ServiceData(index, queue, chain);
                break;
            default:
                // The event queue's buffers wait for events this device never has.
                break;
        }
    }

    /// <inheritdoc />
    public void OnReady(int index, IVirtqueue queue, ulong token)
    {
        ArgumentNullException.ThrowIfNull(queue);
        foreach (PcmStream s in _streams)
        {
            if (s.TimerToken == token)
            {
                s.Timer!.TryRead(out _);
                ServiceQueue(index, queue);
                return;
            }
        }
    }

    /// <inheritdoc />
    public void QueueStopped(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        foreach (PcmStream s in _streams)
        {
            if (s.DataQueue == index)
            {
                // The ring's indices must be exact when it stops: every held message goes back.
                ReturnHeld(s, queue, SoundWire.StatusOk);
                s.Timer?.Disarm();
                queue.NotifyIfNeeded();
            }
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        foreach (PcmStream s in _streams)
        {
            EndSession(s);
            s.Held.Clear();
            s.Completed = 0;
            s.Transferred = 0;
            s.State = PcmState.Initial;
            s.ReturnPending = false;
            s.Timer?.Disarm();
        }
    }

    /// <summary>Closes the streams' sinks, sources and timers.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (PcmStream s in _streams)
        {
            s.Dispose();
        }
    }

    private void Wake(int queue) => _scheduler?.Wake(queue);
}
