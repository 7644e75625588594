// SPDX-License-Identifier: MIT
using System;
using System.Text;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Input;

/// <summary>
/// The event queue thread's services the device uses: watching the evdev fd and the reopen timer.
/// A seam so tests can run the device logic without a back end.
/// </summary>
internal interface IEventWorker
{
    /// <summary>Starts watching <paramref name="device"/> for readability.</summary>
    void Watch(IEvdevDevice device);

    /// <summary>Stops watching <paramref name="device"/> (before it is closed).</summary>
    void Unwatch(IEvdevDevice device);

    /// <summary>Arms the periodic reopen timer.</summary>
    void ArmRetry(TimeSpan period);

    /// <summary>Disarms the reopen timer.</summary>
    void DisarmRetry();
}

/// <summary>
/// The virtio input device (virtio 1.2 §5.8, device id 18) in front of one evdev node: queue 0
/// (<c>eventq</c>) carries the node's events to the driver in whole <c>SYN_REPORT</c> packets, queue 1
/// (<c>statusq</c>) carries LED and sound state back to the node.
/// </summary>
/// <remarks>
/// <para>Threads and what they own:</para>
/// <list type="bullet">
/// <item>The event queue's thread owns the event path: the open node (it reads it, closes it when it
/// disappears and reopens it every 500 ms), the <see cref="InputEventPipeline"/> and the stash of
/// event buffers.</item>
/// <item>The status queue's thread only writes LED and sound events to the node. It reaches the node
/// through <c>_deviceLock</c>: the event queue's thread swaps the reference under that lock and
/// closes the old node only after dropping it there, so a status write never meets a closed (or
/// reused) fd. The back end may serve both queues on one thread or on two; both work.</item>
/// <item>The control thread reads and writes config; <see cref="InputConfigSpace"/> has its own lock,
/// and the event queue's thread publishes a re-read description through it after a reopen.</item>
/// </list>
/// <para>
/// A memory-table change reaches the queues between two callbacks and changes nothing here: held
/// event buffers are kept as guest addresses and written through the map current at delivery, so
/// no event is lost or duplicated.
/// </para>
/// </remarks>
public sealed class InputDevice : IVirtioDevice, IStatusSink, IDisposable
{
    /// <summary>The virtio device id of input devices.</summary>
    public const uint VirtioIdInput = 18;

    /// <summary>The queue size limit offered to the front end.</summary>
    public const ushort DefaultMaxQueueSize = 256;

    /// <summary>How often a vanished node is looked for again.</summary>
    public static readonly TimeSpan RetryPeriod = TimeSpan.FromMilliseconds(500);

    private const int EventQueue = 0;
    private const int StatusQueue = 1;
    private const ulong EvdevToken = 1;
    private const ulong RetryToken = 2;
    private const ulong AnswerToken = 3;

    /// <summary>The longest answer packet of a plug-in.</summary>
    private const int MaxAnswerEvents = 8;
    private const int ReadBatch = 64;

    /// <summary>Reads per readiness event, so a flooding device cannot starve the queue's kicks.</summary>
    private const int MaxReadsPerEvent = 16;

    private readonly IEvdevOpener _opener;
    private readonly InputConfigSpace _config;
    private readonly Lock _deviceLock = new();
    private readonly InputEventPipeline _pipeline;
    private readonly InputEvent[] _readBuffer = new InputEvent[ReadBatch];
    private readonly InputEvent[] _answerBuffer = new InputEvent[MaxAnswerEvents];
    private readonly IInputPlugin? _plugin;
    private StatusQueueProcessor _status;
    private IDeviceHost? _host;
    private ILogger _logger = NullLogger.Instance;

    // Guarded by _deviceLock for writes; read without it only on the event queue's thread, its only writer.
    private IEvdevDevice? _device;

    // Event queue thread state.
    private IVirtqueue? _eventQueue;
    private EventBufferStash? _stash;
    private IEventWorker? _worker;
    private TimerFd? _retryTimer;
    private bool _retrying;
    private bool _overflowReported;

    // Status queue thread state.
    private IVirtqueue? _statusQueue;
    private DescriptorChain? _statusChain;

    /// <summary>
    /// Creates the device over <paramref name="opener"/>'s node, opening it now: the config space must
    /// be answerable before any front end connects.
    /// </summary>
    /// <exception cref="SysException">The node cannot be opened or grabbed.</exception>
    public InputDevice(IEvdevOpener opener)
        : this(opener, OpenFirst(opener), InputEventPipeline.DefaultCapacity)
    {
    }

    internal InputDevice(IEvdevOpener opener, IEvdevDevice device, int backlogCapacity, IInputPlugin? plugin = null)
    {
        ArgumentNullException.ThrowIfNull(opener);
        ArgumentNullException.ThrowIfNull(device);
        _opener = opener;
        _device = device;
        _plugin = plugin;
        InputDeviceInfo info = Describe(device);
        _config = new InputConfigSpace(info);
        _config.Reset();
        _pipeline = new InputEventPipeline(backlogCapacity);
        _pipeline.SetAxes(info);
        _status = new StatusQueueProcessor(_logger);
    }

    /// <summary>Opens <paramref name="evdevPath"/> (grabbing it unless <paramref name="grab"/> is false) and creates the device.</summary>
    /// <exception cref="SysException">The node cannot be opened, is not evdev, or is grabbed elsewhere.</exception>
    public static InputDevice Open(string evdevPath, bool grab) =>
        new(new EvdevOpener(evdevPath, grab), EvdevDevice.Open(evdevPath, grab), InputEventPipeline.DefaultCapacity);

    /// <summary>
    /// Like <see cref="Open(string, bool)"/>, with a <paramref name="plugin"/> (the touch-sensitivity
    /// bridge of <c>vhost-user-input --hidraw</c>): the device also advertises its event codes, hands
    /// it its status events and delivers its answers. The device owns the plug-in from now on.
    /// </summary>
    public static InputDevice Open(string evdevPath, bool grab, IInputPlugin plugin)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        return new(new EvdevOpener(evdevPath, grab), EvdevDevice.Open(evdevPath, grab), InputEventPipeline.DefaultCapacity, plugin);
    }

    /// <summary>The config space (for diagnostics and tests).</summary>
    public InputConfigSpace Config => _config;

    /// <summary>Whether the node is open now.</summary>
    public bool IsDeviceOpen => Volatile.Read(ref _device) is not null;

    /// <inheritdoc />
    public uint DeviceId => VirtioIdInput;

    /// <inheritdoc />
    public ulong DeviceFeatures => VirtioFeatures.Version1;

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => ProtocolFeatures.Config;

    /// <inheritdoc />
    public int QueueCount => 2;

    /// <inheritdoc />
    public ushort MaxQueueSize => DefaultMaxQueueSize;

    /// <inheritdoc />
    public int ConfigSize => InputConfigSpace.Size;

    /// <inheritdoc />
    public void Attach(IDeviceHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
        _logger = host.LoggerFactory.CreateLogger("VirtioLoopback.Devices.Input");
        _status = new StatusQueueProcessor(_logger);
        _plugin?.SetLogger(_logger);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            string grab = _opener is EvdevOpener { Grab: false } ? " without grabbing it" : string.Empty;
            string name = Encoding.UTF8.GetString(_config.Info.Name);
            Log.Opened(_logger, _opener.Path, name, grab);
        }
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination) => _config.Read(offset, destination);

    /// <inheritdoc />
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        _config.Write(offset, data);
        return true;
    }

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features)
    {
    }

    /// <inheritdoc />
    public void Start(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == EventQueue)
        {
            _retryTimer ??= TimerFd.CreateMonotonic();
            queue.Events.Add(_retryTimer.Handle, RetryToken);
            if (_plugin is not null)
            {
                queue.Events.Add(_plugin.AnswerReady.Handle, AnswerToken);
            }

            StartEvents(queue, queue.CreateChain(), new QueueEventWorker(queue, _retryTimer));
        }
        else if (queue.Index == StatusQueue)
        {
            StartStatus(queue, queue.CreateChain());
        }
    }

    /// <inheritdoc />
    public void Process(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == EventQueue)
        {
            ProcessEvents();
        }
        else if (queue.Index == StatusQueue)
        {
            ProcessStatus();
        }
    }

    /// <inheritdoc />
    public void OnEvent(IVirtqueue queue, ulong token)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index != EventQueue)
        {
            return;
        }

        if (token == EvdevToken)
        {
            OnDeviceReadable();
        }
        else if (token == RetryToken)
        {
            _retryTimer?.TryRead(out _);
            OnRetryTimer();
        }
        else if (token == AnswerToken)
        {
            OnAnswerReady();
        }
    }

    /// <inheritdoc />
    public void Stop(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == EventQueue)
        {
            StopEvents();
            if (_retryTimer is not null)
            {
                queue.Events.Remove(_retryTimer.Handle);
            }

            if (_plugin is not null)
            {
                queue.Events.Remove(_plugin.AnswerReady.Handle);
            }
        }
        else if (queue.Index == StatusQueue)
        {
            _statusQueue = null;
            _statusChain = null;
        }
    }

    /// <inheritdoc />
    public void Reset() => _config.Reset();

    /// <summary>Closes the node (releasing the grab) and the timer.</summary>
    public void Dispose()
    {
        IEvdevDevice? device;
        lock (_deviceLock)
        {
            device = _device;
            _device = null;
        }

        device?.Dispose();
        _retryTimer?.Dispose();
        _plugin?.Dispose();
    }

    /// <summary>The event queue started: forget the old backlog and bring the new driver up to date.</summary>
    internal void StartEvents(IVirtqueue queue, DescriptorChain chain, IEventWorker worker)
    {
        _eventQueue = queue;
        _worker = worker;
        _stash = new EventBufferStash(queue, chain);
        _pipeline.DriverStarted();
        _overflowReported = false;
        IEvdevDevice? device = _device;
        if (device is null)
        {
            TryReopen();
        }
        else
        {
            // Events that queued up while no driver listened are stale; the state resync replaces them.
            while (device.Read(_readBuffer, out int n) == EvdevReadStatus.Ok && n > 0)
            {
            }

            worker.Watch(device);
            _pipeline.LoadSourceState(device);
        }

        InjectAnswers();
        Deliver();
    }

    /// <summary>The driver kicked the event queue: it added buffers.</summary>
    internal void ProcessEvents() => Deliver();

    /// <summary>The node is readable (or hung up).</summary>
    internal void OnDeviceReadable()
    {
        IEvdevDevice? device = _device;
        if (device is null)
        {
            return;
        }

        for (int reads = 0; reads < MaxReadsPerEvent; reads++)
        {
            EvdevReadStatus status = device.Read(_readBuffer, out int n);
            for (int i = 0; i < n; i++)
            {
                AppendResult result = _pipeline.Append(_readBuffer[i]);
                if ((result & AppendResult.Overflowed) != 0 && !_overflowReported)
                {
                    _overflowReported = true;
                    Log.BacklogOverflow(_logger, _pipeline.DroppedPackets);
                }

                if ((result & AppendResult.StateQueryNeeded) != 0)
                {
                    Log.SynDropped(_logger);
                    _pipeline.LoadSourceState(device);
                }
            }

            if (status == EvdevReadStatus.Gone)
            {
                DeviceLost(device);
                break;
            }

            if (status == EvdevReadStatus.WouldBlock || n < _readBuffer.Length)
            {
                break;
            }
        }

        InjectAnswers();
        Deliver();
    }

    /// <summary>The plug-in has an answer for the driver.</summary>
    internal void OnAnswerReady()
    {
        if (_plugin is null)
        {
            return;
        }

        // Drain the counter first: an answer queued after this read signals again.
        _plugin.AnswerReady.TryRead(out _);
        InjectAnswers();
        Deliver();
    }

    /// <summary>The reopen timer fired.</summary>
    internal void OnRetryTimer()
    {
        if (_device is null)
        {
            TryReopen();
            Deliver();
        }
    }

    /// <summary>The event queue is stopping: stop watching, and hand back the held buffers.</summary>
    internal void StopEvents()
    {
        IEvdevDevice? device = _device;
        if (device is not null)
        {
            _worker?.Unwatch(device);
        }

        _worker?.DisarmRetry();
        _retrying = false;
        _stash?.ReturnAll();
        _stash = null;
        _worker = null;
        _eventQueue = null;
    }

    /// <summary>The status queue started.</summary>
    internal void StartStatus(IVirtqueue queue, DescriptorChain chain)
    {
        _statusQueue = queue;
        _statusChain = chain;
    }

    /// <summary>The driver kicked the status queue.</summary>
    internal void ProcessStatus()
    {
        if (_statusQueue is not null && _statusChain is not null)
        {
            _status.Process(_statusQueue, _statusChain, this);
        }
    }

    /// <summary>
    /// Gives the plug-in its status events and forwards LED and sound state to the node; other
    /// types have no meaning there.
    /// </summary>
    void IStatusSink.OnStatusEvent(InputEvent inputEvent)
    {
        if (_plugin is not null && _plugin.OnStatusEvent(inputEvent))
        {
            return;
        }

        if (inputEvent.Type is not (InputEventCodes.EvLed or InputEventCodes.EvSnd))
        {
            Log.IgnoredStatus(_logger, inputEvent.Type, inputEvent.Code);
            return;
        }

        int errno;
        lock (_deviceLock)
        {
            // No node (it vanished): the state is lost, as it would be on the unplugged device.
            errno = _device?.Write(inputEvent) ?? 0;
        }

        if (errno != 0)
        {
            Log.StatusWriteFailed(_logger, inputEvent.Type, inputEvent.Code, errno);
        }
    }

    private void Deliver()
    {
        EventBufferStash? stash = _stash;
        if (stash is null || _eventQueue is null || _eventQueue.IsBroken || !_eventQueue.IsEnabled)
        {
            // Events wait in the backlog; enabling the ring processes it.
            return;
        }

        stash.Refill();
        int delivered = _pipeline.Deliver(stash);
        stash.Flush();
        if (delivered > 0)
        {
            _overflowReported = false;
            if (_logger.IsEnabled(LogLevel.Trace))
            {
                Log.Delivered(_logger, delivered);
            }
        }
    }

    private void DeviceLost(IEvdevDevice device)
    {
        _worker?.Unwatch(device);
        lock (_deviceLock)
        {
            _device = null;
        }

        device.Dispose();
        _pipeline.SourceLost();
        Log.DeviceGone(_logger, _opener.Path, (int)RetryPeriod.TotalMilliseconds);
        StartRetrying();
    }

    private void StartRetrying()
    {
        if (!_retrying && _worker is not null)
        {
            _retrying = true;
            _worker.ArmRetry(RetryPeriod);
        }
    }

    private void TryReopen()
    {
        if (!_opener.TryOpen(out IEvdevDevice? device, out int errno))
        {
            Log.ReopenFailed(_logger, _opener.Path, errno);
            StartRetrying();
            return;
        }

        InputDeviceInfo info = Describe(device);
        if (_config.Update(info))
        {
            _pipeline.SetAxes(info);
            bool sent = _host?.NotifyConfigChanged() ?? false;
            Log.ConfigChanged(_logger, _opener.Path, sent);
        }

        lock (_deviceLock)
        {
            _device = device;
        }

        if (_retrying)
        {
            _retrying = false;
            _worker?.DisarmRetry();
        }

        _worker?.Watch(device);
        _pipeline.LoadSourceState(device);
        Log.DeviceBack(_logger, _opener.Path);
    }

    /// <summary>
    /// Moves the plug-in's answers into the backlog, each as a whole packet: only between the source's
    /// packets, so an answer never splits one (a pending answer waits for the source's report).
    /// </summary>
    private void InjectAnswers()
    {
        if (_plugin is null || _eventQueue is null)
        {
            return;
        }

        while (_pipeline.Count == _pipeline.CompleteCount)
        {
            int n = _plugin.TakeAnswer(_answerBuffer);
            if (n == 0)
            {
                return;
            }

            for (int i = 0; i < n; i++)
            {
                _pipeline.Append(_answerBuffer[i]);
            }

            Log.PluginAnswered(_logger, n);
        }
    }

    private InputDeviceInfo Describe(IEvdevDevice device)
    {
        InputDeviceInfo info = InputDeviceInfo.Read(device);
        return _plugin is null ? info : _plugin.Amend(info);
    }

    private static IEvdevDevice OpenFirst(IEvdevOpener opener)
    {
        ArgumentNullException.ThrowIfNull(opener);
        if (!opener.TryOpen(out IEvdevDevice? device, out int errno))
        {
            throw new SysException($"open {opener.Path}", errno);
        }

        return device;
    }

    /// <summary>The production <see cref="IEventWorker"/>: the queue's events and a timerfd.</summary>
    private sealed class QueueEventWorker(IVirtqueue queue, TimerFd timer) : IEventWorker
    {
        public void Watch(IEvdevDevice device)
        {
            if (device.PollHandle is { } fd)
            {
                queue.Events.Add(fd, EvdevToken, EpollEvents.In);
            }
        }

        public void Unwatch(IEvdevDevice device)
        {
            if (device.PollHandle is { } fd)
            {
                queue.Events.Remove(fd);
            }
        }

        public void ArmRetry(TimeSpan period) => timer.Arm(period, period);

        public void DisarmRetry() => timer.Disarm();
    }
}
