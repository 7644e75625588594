// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Loopback.Profiles;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Loopback;

/// <summary>
/// One kernel virtio device served by one vhost-user back end: the control-plane state machine.
/// </summary>
/// <remarks>
/// <para>All methods run on the adapter's loop thread. The only thing that happens elsewhere is the
/// back end's <c>CONFIG_CHANGE_MSG</c>, which sets a flag and calls the wake-up callback; the loop
/// then calls <see cref="ProcessPendingWork"/>.</para>
/// <para>The data plane never passes through here: the kick and call eventfds and the pool go to the
/// module and to the back end unchanged.</para>
/// </remarks>
public sealed class LoopbackDevice : IDisposable
{
    /// <summary><c>VIRTIO_F_ACCESS_PLATFORM</c>: the module's, never the back end's.</summary>
    public const ulong AccessPlatform = 1UL << 33;

    /// <summary><c>VHOST_USER_F_PROTOCOL_FEATURES</c>.</summary>
    public const ulong ProtocolFeaturesBit = ProtocolFeatureBits.VhostUserFProtocolFeatures;

    /// <summary>The protocol features the adapter uses when the back end offers them.</summary>
    public const ProtocolFeatures WantedProtocolFeatures =
        ProtocolFeatures.Mq | ProtocolFeatures.ReplyAck | ProtocolFeatures.Config | ProtocolFeatures.BackendReq
        | ProtocolFeatures.InflightShmfd;

    private const int EIO = 5;
    private const int ENOENT = 2;

    private readonly ILoopbackControl _control;
    private readonly LoopbackDeviceOptions _options;
    private readonly Func<IBackendLink> _connect;
    private readonly Action? _wake;
    private readonly ILogger _logger;
    private IBackendLink? _link;
    private FileDescriptor? _poolFd;
    private DevicePool? _pool;
    private EventFd[] _kicks = [];
    private EventFd[] _calls = [];
    private LoopbackQueueInfo[] _queues = [];
    private bool[] _running = [];
    private byte[] _config = [];
    private ProtocolFeatures _protocol;
    private ulong _backendFeatures;
    private ulong? _negotiated;
    private uint _maxQueueSize;
    private bool _driverOk;
    private bool _memTableSent;
    private bool _configFromBackend;
    private InflightBuffer? _inflight;
    private int _configChanged;

    // SET_VRING_ERR of every ring: one eventfd for the device's life (the adapter's loop watches
    // it), so it outlives Destroy and Create.
    private readonly EventFd _vringError = EventFd.Create();

    /// <summary>Creates the state machine; nothing happens until <see cref="Create"/>.</summary>
    /// <param name="control">The control channel the device lives on.</param>
    /// <param name="options">The device type and sizes.</param>
    /// <param name="connect">Connects to the back end (called again after a hang-up); throws when it cannot.</param>
    /// <param name="wake">Called from another thread when <see cref="ProcessPendingWork"/> has work.</param>
    /// <param name="logger">Where to log.</param>
    public LoopbackDevice(ILoopbackControl control, LoopbackDeviceOptions options, Func<IBackendLink> connect, Action? wake = null, ILogger? logger = null)
    {
        _control = control ?? throw new ArgumentNullException(nameof(control));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _connect = connect ?? throw new ArgumentNullException(nameof(connect));
        _wake = wake;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The device's handle on the control fd (0 before <see cref="Create"/>).</summary>
    public uint Handle { get; private set; }

    /// <summary>The number of queues.</summary>
    public uint QueueCount { get; private set; }

    /// <summary>The largest ring size offered to the driver: the option, lowered to what the back end accepts.</summary>
    public uint MaxQueueSize => _maxQueueSize;

    /// <summary>The features the kernel device was created with.</summary>
    public ulong DeviceFeatures { get; private set; }

    /// <summary>Whether the back end is connected.</summary>
    public bool IsBackendConnected => _link is { IsConnected: true };

    /// <summary>Whether the driver set DRIVER_OK since the last reset.</summary>
    public bool IsDriverOk => _driverOk;

    /// <summary>
    /// Whether the module reported that the back end broke a rule (a BROKEN event): the kernel
    /// device failed for good and must be destroyed; a new one can be created.
    /// </summary>
    public bool IsBroken { get; private set; }

    /// <summary>The virtio device ID.</summary>
    public uint DeviceId => _options.DeviceId;

    /// <summary>
    /// The eventfd every ring's back end signals when it finds that ring broken (<c>SET_VRING_ERR</c>);
    /// when it is readable, call <see cref="OnVringError"/>.
    /// </summary>
    public FileDescriptor VringErrorFd => _vringError.Handle;

    /// <summary>The current config space as the kernel has it.</summary>
    public ReadOnlySpan<byte> Config => _config;

    /// <summary>
    /// Connects to the back end, learns its features, queues and config, creates the kernel device,
    /// maps the pool and attaches one kick and one call eventfd per queue.
    /// </summary>
    public void Create()
    {
        if (Handle != 0)
        {
            throw new InvalidOperationException("The device exists already.");
        }

        // A failed earlier attempt may have left a connection behind.
        _link?.Dispose();
        _link = null;
        _link = _connect();
        Handshake(_link, first: true);
        _maxQueueSize = ProbeQueueSize(_link, _options.MaxQueueSize);

        var create = new LoopbackCreate
        {
            DeviceId = _options.DeviceId,
            VendorId = _options.VendorId,
            DeviceFeatures = DeviceFeatures,
            NumQueues = QueueCount,
            MaxQueueSize = _maxQueueSize,
            PoolSize = _options.PoolSize,
        };
        _poolFd = _control.CreateDevice(ref create, _config);
        Handle = create.Handle;
        IsBroken = false;
        // The module offers VERSION_1 and ACCESS_PLATFORM itself and may withhold what the type
        // must not use (virtio-net's control queue); the driver only ever accepts what is offered.
        ulong withheld = create.OfferedFeatures == 0 ? 0 : DeviceFeatures & ~create.OfferedFeatures;
        if (withheld != 0)
        {
            Log.FeaturesWithheld(_logger, withheld);
        }

        _pool = DevicePool.Map(_poolFd, _options.PoolSize, create.PoolDmaBase);
        _kicks = new EventFd[QueueCount];
        _calls = new EventFd[QueueCount];
        _queues = new LoopbackQueueInfo[QueueCount];
        _running = new bool[QueueCount];
        for (uint q = 0; q < QueueCount; q++)
        {
            _kicks[q] = EventFd.Create();
            _calls[q] = EventFd.Create();
            _control.SetQueueFds(Handle, q, _kicks[q].Handle, _calls[q].Handle);
        }

        Log.Created(_logger, _options.DeviceId, _options.Profile.Name, Handle, QueueCount, _maxQueueSize, DeviceFeatures, _options.PoolSize, create.PoolDmaBase, _config.Length);
    }

    /// <summary>Handles one event of this device; replies with EVENT_DONE when the module waits.</summary>
    public void HandleEvent(in LoopbackEvent e)
    {
        Log.Event(_logger, e.Type, e.Seq, e.Flags);
        uint status = 0;
        try
        {
            switch (e.Type)
            {
                case LoopbackEventType.Reset:
                    _driverOk = false;
                    _negotiated = null;
                    ReleaseInflight();
                    StopRings();
                    break;
                case LoopbackEventType.FeaturesOk:
                    _negotiated = e.Features;
                    Log.FeaturesOk(_logger, e.Features);
                    break;
                case LoopbackEventType.DriverOk:
                    _driverOk = true;
                    // An error signalled by rings of an earlier session is not about these.
                    _vringError.TryRead(out _);
                    if (IsBackendConnected && !StartRingsOrFail())
                    {
                        status = EIO;
                    }

                    break;
                case LoopbackEventType.ConfigWrite:
                    ForwardConfigWrite(e);
                    break;
                case LoopbackEventType.Broken:
                    IsBroken = true;
                    Log.Broken(_logger, Handle, e.BrokenQueue, e.BrokenRule);
                    break;
                default:
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // VhostUserException and SysException are IOExceptions.
            Log.EventFailed(_logger, e.Type, e.Seq, ex);
            status = EIO;
        }

        if (e.NeedsReply)
        {
            try
            {
                _control.EventDone(Handle, e.Seq, status);
            }
            catch (SysException ex) when (ex.Errno == ENOENT)
            {
                // The driver waits sync_timeout_ms at most: on a slow machine the answer can come
                // after it gave up. Late, not fatal: the next request waits again.
                Log.EventDoneLate(_logger, e.Type, e.Seq);
            }
        }
    }

    /// <summary>Work queued from other threads: a back-end config change.</summary>
    public void ProcessPendingWork()
    {
        if (Interlocked.Exchange(ref _configChanged, 0) != 0 && _link is { IsConnected: true } link && _configFromBackend)
        {
            link.GetConfig(0, _config);
            _options.Profile.WriteFrontendConfig(_config, DeviceFeatures, QueueCount);
            _control.SetConfig(Handle, 0, _config, notify: true);
            Log.ConfigChanged(_logger);
        }
    }

    /// <summary>
    /// The back end signalled <see cref="VringErrorFd"/>: it found a ring broken and will not serve
    /// it, so nothing in flight there would ever complete. Fail the device (FAIL_DEVICE): the driver's
    /// requests end with an error and it sees NEEDS_RESET; its next reset starts the rings afresh.
    /// </summary>
    public void OnVringError()
    {
        if (!_vringError.TryRead(out _))
        {
            return;
        }

        if (Handle == 0 || !_driverOk || !Array.Exists(_running, r => r))
        {
            // From rings that a reset or a failure has stopped already.
            Log.VringErrorIgnored(_logger, Handle);
            return;
        }

        Log.VringErrorReported(_logger, Handle);
        FailDevice();
    }

    /// <summary>The back end hung up: forget its state; the kernel device stays and its I/O waits.</summary>
    public void OnBackendLost()
    {
        Log.BackendLost(_logger);
        _link?.Dispose();
        _link = null;
        Array.Clear(_running);
        _memTableSent = false;
    }

    /// <summary>
    /// One reconnection attempt after <see cref="OnBackendLost"/>: connect, repeat the handshake and,
    /// if the driver is live, restart the rings from the used indices in the pool.
    /// </summary>
    /// <returns>Whether the back end is connected again.</returns>
    public bool TryReconnect()
    {
        if (IsBackendConnected)
        {
            return true;
        }

        try
        {
            _link?.Dispose();
            _link = _connect();
            Handshake(_link, first: false);
            if (_driverOk)
            {
                StartRings(restoring: true);
            }

            Log.BackendRestored(_logger);
            return true;
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or InvalidOperationException)
        {
            Log.ReconnectFailed(_logger, ex.Message);
            _link?.Dispose();
            _link = null;
            return false;
        }
    }

    /// <summary>
    /// Stops the back end's rings (<c>GET_VRING_BASE</c>), so that it no longer touches the pool,
    /// then DESTROY_DEVICE (the module fails what is still in flight) and releases everything.
    /// </summary>
    public void Destroy()
    {
        try
        {
            StopRings();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            Log.EventFailed(_logger, LoopbackEventType.Reset, 0, ex);
        }

        if (Handle != 0)
        {
            _control.DestroyDevice(Handle);
            Log.Destroyed(_logger, Handle);
            Handle = 0;
        }

        Release();
        // Ready for a new Create(): nothing of the old device's driver or back end carries over.
        _pool = null;
        _poolFd = null;
        _queues = [];
        _running = [];
        _negotiated = null;
        _driverOk = false;
        _memTableSent = false;
        IsBroken = false;
    }

    /// <summary>Releases the back-end connection, the pool and the eventfds (the kernel device goes with the control fd).</summary>
    public void Dispose()
    {
        Release();
        _vringError.Dispose();
    }

    /// <summary>Releases what one kernel device and its back end used.</summary>
    private void Release()
    {
        _link?.Dispose();
        _link = null;
        ReleaseInflight();
        _pool?.Dispose();
        _poolFd?.Dispose();
        foreach (EventFd fd in _kicks)
        {
            fd.Dispose();
        }

        foreach (EventFd fd in _calls)
        {
            fd.Dispose();
        }

        _kicks = [];
        _calls = [];
    }

    private void Handshake(IBackendLink link, bool first)
    {
        ulong features = link.GetFeatures();
        ProtocolFeatures protocol = ProtocolFeatures.None;
        if ((features & ProtocolFeaturesBit) != 0)
        {
            ProtocolFeatures offered = link.GetProtocolFeatures();
            protocol = offered & WantedProtocolFeatures;
            link.SetProtocolFeatures(protocol);
            Log.BackendFeatures(_logger, features, (ulong)offered, (ulong)protocol);
        }

        link.SetOwner();
        if (!first)
        {
            if (features != _backendFeatures)
            {
                Log.FeaturesDiffer(_logger, features, _backendFeatures);
            }

            _protocol = protocol;
            SubscribeConfigChanges(link);
            return;
        }

        _backendFeatures = features;
        _protocol = protocol;
        DeviceProfile profile = _options.Profile;
        bool backendHasConfig = (protocol & ProtocolFeatures.Config) != 0;
        // The module adds VERSION_1 and ACCESS_PLATFORM itself; the back end must never see the latter.
        // The profile adds the bits whose config fields the front end owns and withholds what the
        // type cannot serve (virtio-net's control queue).
        DeviceFeatures = profile.OfferedFeatures(features & ~(ProtocolFeaturesBit | AccessPlatform), backendHasConfig);
        ulong? backendQueues = (protocol & ProtocolFeatures.Mq) != 0 ? link.GetQueueNum() : null;
        _config = new byte[Math.Min(profile.ConfigSize(DeviceFeatures), LoopbackUapi.ConfigMax)];
        _configFromBackend = false;
        if (_config.Length != 0 && profile.BackendConfig != BackendConfig.None)
        {
            if (backendHasConfig)
            {
                link.GetConfig(0, _config);
                _configFromBackend = true;
            }
            else if (profile.BackendConfig == BackendConfig.Required)
            {
                throw new InvalidOperationException(
                    $"device {profile.Name} takes its config space from the back end, which does not offer VHOST_USER_PROTOCOL_F_CONFIG");
            }
        }

        uint queues = profile.QueueCount(backendQueues, _config, DeviceFeatures);
        uint maxQueues = _control.ApiInfo.MaxQueues == 0 ? 64 : _control.ApiInfo.MaxQueues;
        if (queues == 0 || queues > maxQueues)
        {
            throw new InvalidOperationException($"device {profile.Name} would have {queues} queues; the module allows 1 to {maxQueues}");
        }

        QueueCount = queues;
        profile.WriteFrontendConfig(_config, DeviceFeatures, QueueCount);
        SubscribeConfigChanges(link);
    }

    /// <summary>
    /// The back end's largest ring size is not part of the vhost-user protocol, but a back end refuses a
    /// <c>SET_VRING_NUM</c> above it. Under <c>REPLY_ACK</c> ask now, while no ring runs, and halve the
    /// size until every queue accepts it: a kernel device whose rings the back end refuses would
    /// accept the driver's first request and never complete it.
    /// </summary>
    private uint ProbeQueueSize(IBackendLink link, uint size)
    {
        if ((_protocol & ProtocolFeatures.ReplyAck) == 0)
        {
            Log.QueueSizeUnchecked(_logger, size);
            return size;
        }

        for (uint q = 0; q < QueueCount; q++)
        {
            while (true)
            {
                try
                {
                    link.SetVringNum(q, size);
                    break;
                }
                catch (VhostUserException ex) when (link.IsConnected)
                {
                    if (size <= 2)
                    {
                        throw new InvalidOperationException($"The back end refuses every queue size for queue {q}: {ex.Message}", ex);
                    }

                    Log.QueueSizeLowered(_logger, size, size / 2, ex.Message);
                    size /= 2;
                }
            }
        }

        return size;
    }

    private void SubscribeConfigChanges(IBackendLink link)
    {
        if ((_protocol & ProtocolFeatures.BackendReq) == 0)
        {
            return;
        }

        link.ConfigChanged += (_, _) =>
        {
            Interlocked.Exchange(ref _configChanged, 1);
            _wake?.Invoke();
        };
        link.SetBackendReqFd();
    }

    private void StartRings(bool restoring)
    {
        IBackendLink link = _link ?? throw new InvalidOperationException("No back end.");
        DevicePool pool = _pool ?? throw new InvalidOperationException("No device.");
        ulong negotiated = _negotiated ?? DeviceFeatures;
        // Only bits the back end offered: the ones the front end owns (virtio-net's MAC, STATUS) are
        // the front end's business, and a back end may refuse a bit it never offered (DPDK does).
        ulong features = negotiated & _backendFeatures & ~AccessPlatform;
        if ((_backendFeatures & ProtocolFeaturesBit) != 0)
        {
            features |= ProtocolFeaturesBit;
        }

        for (uint q = 0; q < QueueCount; q++)
        {
            _queues[q] = _control.GetQueueInfo(Handle, q);
        }

        ShareInflight(link);
        link.SetFeatures(features);
        if (!_memTableSent)
        {
            link.SetMemTable(new MemoryRegion(pool.DmaBase, pool.Length, pool.UserAddress, 0), _poolFd!);
            _memTableSent = true;
        }

        for (uint q = 0; q < QueueCount; q++)
        {
            LoopbackQueueInfo info = _queues[q];
            if (!info.IsReady || info.Size == 0)
            {
                Log.QueueNotReady(_logger, q);
                continue;
            }

            if (!pool.TryTranslate(info.DescAddr, 16UL * info.Size, out ulong desc)
                || !pool.TryTranslate(info.AvailAddr, 6 + (2UL * info.Size), out ulong avail)
                || !pool.TryTranslate(info.UsedAddr, 6 + (8UL * info.Size), out ulong used))
            {
                throw new InvalidOperationException($"Queue {q}'s rings lie outside the pool.");
            }

            uint vringBase = 0;
            if (restoring && pool.TryReadU16(info.UsedAddr + 2, out ushort usedIdx))
            {
                vringBase = usedIdx;
            }

            try
            {
                link.SetVringNum(q, info.Size);
                link.SetVringAddr(new VringAddress(q, 0, desc, used, avail, 0));
                link.SetVringBase(q, vringBase);
                link.SetVringCall(q, _calls[q].Handle);
                link.SetVringKick(q, _kicks[q].Handle);
                SetVringErr(link, q);
                if ((_backendFeatures & ProtocolFeaturesBit) != 0)
                {
                    link.SetVringEnable(q, true);
                }
            }
            catch (VhostUserException ex)
            {
                Log.QueueStartFailed(_logger, q, ex);
                throw;
            }

            _running[q] = true;
            Log.QueueStarted(_logger, q, info.Size, vringBase, info.DescAddr, info.AvailAddr, info.UsedAddr);
        }

    }

    /// <summary>
    /// The error channel is optional: a back end that refuses it (under <c>REPLY_ACK</c>) still
    /// serves the ring; only a broken ring of its would then leave the driver waiting.
    /// </summary>
    private void SetVringErr(IBackendLink link, uint q)
    {
        try
        {
            link.SetVringErr(q, _vringError.Handle);
        }
        catch (VhostUserException ex) when (link.IsConnected)
        {
            Log.VringErrRefused(_logger, q, ex.Message);
        }
    }

    /// <summary>
    /// DRIVER_OK has no reply: when the back end refuses the rings, the driver would wait forever.
    /// Stop what did start, then FAIL_DEVICE, so its requests fail and it sees NEEDS_RESET; the
    /// driver's next reset starts afresh.
    /// </summary>
    private bool StartRingsOrFail()
    {
        try
        {
            StartRings(restoring: false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            Log.DeviceFailed(_logger, Handle, ex);
            FailDevice();
            return false;
        }
    }

    /// <summary>Stops what runs, so that the back end no longer touches the pool, then FAIL_DEVICE.</summary>
    private void FailDevice()
    {
        try
        {
            StopRings();
        }
        catch (Exception stop) when (stop is IOException or InvalidOperationException)
        {
            Log.StopFailed(_logger, stop);
        }

        try
        {
            _control.FailDevice(Handle, EIO);
        }
        catch (IOException fail)
        {
            // A module without FAIL_DEVICE (ENOTTY): the driver's I/O waits, as before.
            Log.FailDeviceRefused(_logger, Handle, fail);
        }
    }

    /// <summary>
    /// With <c>INFLIGHT_SHMFD</c>, the back end records each request it takes in an area the adapter
    /// keeps: a back end restarted under load gets it back and resubmits exactly what was in flight,
    /// even when it completed requests out of order (a base taken from the used index alone would
    /// then run some requests twice).
    /// </summary>
    private void ShareInflight(IBackendLink link)
    {
        if ((_protocol & ProtocolFeatures.InflightShmfd) == 0)
        {
            return;
        }

        ushort size = 0;
        foreach (LoopbackQueueInfo info in _queues)
        {
            size = Math.Max(size, (ushort)Math.Min(info.Size, ushort.MaxValue));
        }

        if (size == 0)
        {
            return;
        }

        _inflight ??= link.GetInflightFd((ushort)QueueCount, size);
        link.SetInflightFd(_inflight.Value, (ushort)QueueCount, size);
    }

    /// <summary>A driver reset starts the rings afresh: nothing is in flight any more.</summary>
    private void ReleaseInflight()
    {
        _inflight?.Fd.Dispose();
        _inflight = null;
    }

    private void StopRings()
    {
        if (_link is not { IsConnected: true } link)
        {
            Array.Clear(_running);
            return;
        }

        for (uint q = 0; q < _running.Length; q++)
        {
            if (!_running[q])
            {
                continue;
            }

            _running[q] = false;
            uint vringBase = link.GetVringBase(q);
            Log.QueueStopped(_logger, q, vringBase);
        }
    }

    private void ForwardConfigWrite(in LoopbackEvent e)
    {
        if (!_configFromBackend)
        {
            // The front end owns this config (fs, net) and the module applied the write locally;
            // a back end without a config space has nothing to forward it to.
            Log.ConfigWriteKept(_logger, e.ConfigSize, e.ConfigOffset);
            return;
        }

        uint size = Math.Min(e.ConfigSize, (uint)LoopbackUapi.ConfigWriteMax);
        IBackendLink link = _link is { IsConnected: true } l ? l : throw new InvalidOperationException("The back end is not connected.");
        Span<byte> data = stackalloc byte[LoopbackUapi.ConfigWriteMax];
        ReadConfigData(e, data);
        link.SetConfig(e.ConfigOffset, data[..(int)size]);
        link.GetConfig(0, _config);
        _options.Profile.WriteFrontendConfig(_config, DeviceFeatures, QueueCount);
        _control.SetConfig(Handle, 0, _config, notify: false);

        Log.ConfigWritten(_logger, size, e.ConfigOffset);
    }

    private static unsafe void ReadConfigData(in LoopbackEvent e, Span<byte> destination)
    {
        fixed (byte* p = e.ConfigData)
        {
            new ReadOnlySpan<byte>(p, LoopbackUapi.ConfigWriteMax).CopyTo(destination);
        }
    }
}
