// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Rng;

/// <summary>
/// The virtio entropy device (virtio 1.2 §5.4, device id 4): one queue, <c>requestq</c>, whose
/// device-writable buffers it fills with random bytes, optionally at a bounded rate.
/// </summary>
/// <remarks>
/// When the rate limit is reached the device stops popping and arms a timerfd, registered on the
/// queue's thread, for the next refill; the thread never sleeps. The device has no config space and no
/// feature bits beyond <c>VIRTIO_F_VERSION_1</c>.
/// </remarks>
public sealed class RngDevice : IVirtioDevice, IDisposable
{
    /// <summary>The virtio device id of the entropy device.</summary>
    public const uint VirtioIdRng = 4;

    /// <summary>The queue size limit offered to the front end.</summary>
    public const ushort DefaultMaxQueueSize = 1024;

    /// <summary>The token of the rate-limit timer among the queue's events.</summary>
    private const ulong TimerToken = 1;

    private readonly IEntropySource _source;
    private readonly TokenBucket? _limiter;
    private ILogger _logger = NullLogger.Instance;
    private RngRequestProcessor? _processor;

    // Owned by the request queue's thread between Start and Stop.
    private DescriptorChain? _chain;
    private IVirtqueue? _queue;
    private TimerFd? _timer;
    private bool _timerArmed;

    /// <summary>Creates the device.</summary>
    /// <param name="source">Where the bytes come from; the device disposes it.</param>
    /// <param name="limiter">The rate limit, or null for none.</param>
    public RngDevice(IEntropySource source, TokenBucket? limiter = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _limiter = limiter;
    }

    /// <inheritdoc />
    public uint DeviceId => VirtioIdRng;

    /// <inheritdoc />
    public ulong DeviceFeatures => VirtioFeatures.Version1;

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => ProtocolFeatures.None;

    /// <inheritdoc />
    public int QueueCount => 1;

    /// <inheritdoc />
    public ushort MaxQueueSize => DefaultMaxQueueSize;

    /// <inheritdoc />
    public int ConfigSize => 0;

    /// <inheritdoc />
    public void Attach(IDeviceHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _logger = host.LoggerFactory.CreateLogger("VirtioLoopback.Devices.Rng");
        _processor = new RngRequestProcessor(_source, _limiter, _logger);
        string limit = _limiter is null
            ? "no rate limit"
            : $"at most {_limiter.Capacity} bytes per {_limiter.Period.TotalMilliseconds} ms";
        Log.Configured(_logger, _source is FileEntropySource f ? f.Path : "getrandom", limit);
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination) => destination.Clear();

    /// <inheritdoc />
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data) => false;

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features)
    {
    }

    /// <inheritdoc />
    public void Start(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        _processor ??= new RngRequestProcessor(_source, _limiter, _logger);
        _chain = queue.CreateChain();
        _queue = queue;
        if (_limiter is not null)
        {
            _timer ??= TimerFd.CreateMonotonic();
            queue.Events.Add(_timer.Handle, TimerToken);
        }
    }

    /// <inheritdoc />
    public void Process(IVirtqueue queue)
    {
        if (_queue is null || _chain is null || _processor is null)
        {
            return;
        }

        if (_timerArmed || !_queue.IsEnabled)
        {
            // Throttled: the timer resumes processing; a kick meanwhile changes nothing.
            // Disabled: enabling the ring processes it.
            return;
        }

        TimeSpan wait = _processor.Process(_queue, _chain);
        if (wait > TimeSpan.Zero && _timer is not null)
        {
            _timer.Arm(wait, TimeSpan.Zero);
            _timerArmed = true;
        }
    }

    /// <inheritdoc />
    public void OnEvent(IVirtqueue queue, ulong token)
    {
        if (token != TimerToken || _timer is null)
        {
            return;
        }

        _timer.TryRead(out _);
        _timerArmed = false;
        Process(queue);
    }

    /// <inheritdoc />
    public void Stop(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (_timer is not null)
        {
            _timer.Disarm();
            _timerArmed = false;
            queue.Events.Remove(_timer.Handle);
        }

        _queue = null;
        _chain = null;
    }

    /// <inheritdoc />
    public void Reset()
    {
    }

    /// <summary>Closes the source and the timer.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        _source.Dispose();
    }
}
