// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Numerics;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// A virtio block device (device ID 2) over a raw image file or a block device, served by the
/// generic vhost-user back end to QEMU's <c>vhost-user-blk-pci</c> or to the kernel through the
/// virtio-loopback adapter.
/// </summary>
/// <remarks>
/// Each started queue gets an asynchronous engine (<see cref="BlkQueueEngine"/>): the queue's thread
/// pops and parses requests, the device's I/O threads (<see cref="BlkIoPool"/>, shared by every
/// queue and running only while one is started) do <c>preadv</c>/<c>pwritev</c> directly on guest
/// memory, and completions return to the queue's thread through an eventfd. The request logic
/// itself is <see cref="BlkRequestProcessor"/>.
/// </remarks>
public sealed class BlkDevice : IVirtioDevice, IDisposable
{
    /// <summary>The virtio device ID of a block device.</summary>
    public const uint BlockDeviceId = 2;

    private readonly BlkDeviceOptions _options;
    private readonly BlkImage _image;
    private readonly BlkRequestProcessor _processor;
    private readonly BlkQueueEngine?[] _engines;
    private readonly object _configLock = new();

    // The I/O threads and how many started queues use them; queues start and stop on their own
    // threads, so both are guarded by _poolLock.
    private readonly Lock _poolLock = new();
    private BlkIoPool? _pool;
    private int _poolUsers;
    private ILogger _logger = NullLogger.Instance;
    private IDeviceHost? _host;

    // Whether queues get an io_uring, decided once; why not, when it was wanted and refused.
    private readonly bool _useUring;
    private readonly string? _uringRefused;

    // Guarded by _configLock (config reads and writes run on the control thread, resize on a signal thread).
    private byte _writeback = 1;
    private ulong _ackedFeatures;

    /// <summary>Opens the image named by <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="System.IO.IOException">The image cannot be opened or sized.</exception>
    public BlkDevice(BlkDeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _image = BlkImage.Open(options.Path, options.ReadOnly, options.Direct);
        try
        {
            _processor = new BlkRequestProcessor(_image, options.Serial);
        }
        catch
        {
            _image.Dispose();
            throw;
        }

        _engines = new BlkQueueEngine?[options.NumQueues];
        _useUring = options.IoEngine == BlkIoEngine.IoUring || (options.IoEngine == BlkIoEngine.Auto && !_image.IsInMemory);
        if (_useUring)
        {
            // Probe once: a kernel without io_uring, the io_uring_disabled sysctl or a seccomp filter
            // refuses every ring alike, and the choice is logged once at attach.
            try
            {
                IoUring.Create(1).Dispose();
            }
            catch (SysException e)
            {
                _useUring = false;
                _uringRefused = e.Message;
            }
        }

        UpdateCacheMode();
        DeviceFeatures = ComputeFeatures(options);
    }

    /// <inheritdoc />
    public uint DeviceId => BlockDeviceId;

    /// <inheritdoc />
    public ulong DeviceFeatures { get; }

    /// <inheritdoc />
    public ProtocolFeatures ProtocolFeatures => ProtocolFeatures.Config | ProtocolFeatures.InflightShmfd;

    /// <inheritdoc />
    public int QueueCount => _options.NumQueues;

    /// <inheritdoc />
    public ushort MaxQueueSize => (ushort)_options.QueueSize;

    /// <inheritdoc />
    public int ConfigSize => BlkConfigLayout.Size;

    /// <summary>The request logic and the disk, for inspection.</summary>
    public BlkRequestProcessor Processor => _processor;

    /// <summary>The capacity currently served, in 512-byte sectors.</summary>
    public ulong CapacitySectors => _processor.CapacitySectors;

    /// <summary>Whether the device currently runs in writeback mode (FLUSH negotiated and <c>writeback</c> = 1).</summary>
    public bool IsWriteback => !_processor.Writethrough;

    /// <inheritdoc />
    public void Attach(IDeviceHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
        _logger = host.LoggerFactory.CreateLogger("VirtioLoopback.Devices.Blk");
        _processor.Logger = _logger;
        Log.ImageOpened(
            _logger,
            _image.Path,
            _image.IsBlockDevice ? "block device" : "image file",
            _processor.CapacitySectors,
            _image.LogicalBlockSize,
            _image.IsReadOnly ? "read-only" : "read-write",
            _options.NumQueues,
            _options.QueueSize);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            string engine = DescribeEngine();
            Log.IoEngineChosen(_logger, engine);
        }

        if (_image.IsDirect)
        {
            Log.DirectIo(_logger, _image.DirectMemoryAlignment, _image.DirectOffsetAlignment);
        }
    }

    /// <summary>Whether the queues' reads, writes and flushes go through io_uring.</summary>
    public bool UsesUring => _useUring;

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[BlkConfigLayout.Size];
        lock (_configLock)
        {
            FillConfig(config);
        }

        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    /// <remarks>Only the <c>writeback</c> byte is writable, with 0 (writethrough) or 1 (writeback).</remarks>
    public bool WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        if (offset != BlkConfigLayout.Writeback || data.Length != 1 || data[0] > 1)
        {
            Log.ConfigWriteRefused(_logger, offset, data.Length);
            return false;
        }

        lock (_configLock)
        {
            _writeback = data[0];
            UpdateCacheMode();
        }

        Log.CacheMode(_logger, _processor.Writethrough ? "writethrough" : "writeback");
        return true;
    }

    /// <inheritdoc />
    public void OnFeaturesAcked(ulong features)
    {
        lock (_configLock)
        {
            _ackedFeatures = features;

            // §5.2.5.1: with CONFIG_WCE but without FLUSH the device starts in writethrough.
            if ((features & BlkFeatures.ConfigWce) != 0 && (features & BlkFeatures.Flush) == 0)
            {
                _writeback = 0;
            }

            UpdateCacheMode();
        }
    }

    /// <inheritdoc />
    public void Start(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        int index = queue.Index;
        StopEngine(index);
        BlkQueueEngine engine = new(_processor, queue, AcquirePool(), _useUring, _logger);
        try
        {
            engine.Start();
        }
        catch
        {
            engine.Dispose();
            ReleasePool();
            throw;
        }

        _engines[index] = engine;
    }

    /// <inheritdoc />
    public void Process(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        _engines[queue.Index]?.Process();
    }

    /// <inheritdoc />
    public void OnEvent(IVirtqueue queue, ulong token)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (token == BlkQueueEngine.CompletionToken)
        {
            _engines[queue.Index]?.OnCompletions();
        }
    }

    /// <inheritdoc />
    public void Stop(IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        StopEngine(queue.Index);
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_configLock)
        {
            _ackedFeatures = 0;
            _writeback = 1;
            UpdateCacheMode();
        }
    }

    /// <summary>
    /// Re-reads the image size (for example on <c>SIGHUP</c> after the image was grown). When the
    /// capacity changed, serves the new one and tells the front end (<c>CONFIG_CHANGE_MSG</c>).
    /// </summary>
    /// <returns>True when the capacity changed.</returns>
    public bool Resize()
    {
        ulong old;
        ulong capacity;
        lock (_configLock)
        {
            try
            {
                capacity = _image.QueryCapacitySectors();
            }
            catch (SysException e)
            {
                Log.ResizeFailed(_logger, e.Message);
                return false;
            }

            old = _processor.CapacitySectors;
            if (capacity == old)
            {
                return false;
            }

            _processor.CapacitySectors = capacity;
        }

        bool notified = _host?.NotifyConfigChanged() ?? false;
        Log.CapacityChanged(_logger, old, capacity, notified);
        return true;
    }

    /// <summary>Closes the image (the back end has stopped every queue, and with them the I/O threads).</summary>
    public void Dispose()
    {
        for (int i = 0; i < _engines.Length; i++)
        {
            _engines[i]?.Dispose();
            _engines[i] = null;
        }

        lock (_poolLock)
        {
            _pool?.Dispose();
            _pool = null;
            _poolUsers = 0;
        }

        _image.Dispose();
    }

    /// <summary>Waits for the queue's requests in flight, pushes them and drops its engine (queue thread).</summary>
    private void StopEngine(int index)
    {
        BlkQueueEngine? engine = _engines[index];
        if (engine is null)
        {
            return;
        }

        _engines[index] = null;
        engine.Stop();
        engine.Dispose();
        ReleasePool();
    }

    /// <summary>The I/O threads for one more started queue (created with the first); null when the I/O runs inline.</summary>
    private BlkIoPool? AcquirePool()
    {
        lock (_poolLock)
        {
            _poolUsers++;
            int threads = _options.IoThreads ?? DefaultThreads();
            if (_pool is null && threads > 0)
            {
                _pool = new BlkIoPool(_processor, threads, _options.NumQueues * BlkQueueEngine.MaxSlots, _logger);
            }

            return _pool;
        }
    }

    /// <summary>
    /// I/O threads unless the options say: none for an image in memory (its copies never sleep); with
    /// io_uring one, for what the rings do not do (discard, write zeroes); else the default.
    /// </summary>
    private int DefaultThreads() => _image.IsInMemory ? 0 : _useUring ? 1 : BlkDeviceOptions.DefaultIoThreads;

    private string DescribeEngine()
    {
        int threads = _options.IoThreads ?? DefaultThreads();
        string engine = _useUring
            ? $"io_uring per queue for reads, writes and flushes; {threads} I/O thread(s) for discard and write zeroes"
            : threads == 0 ? "the queues' own threads" : $"{threads} I/O thread(s) shared by the queues";
        return _uringRefused is null ? engine : $"{engine} (io_uring refused: {_uringRefused})";
    }

    /// <summary>A queue stopped: the I/O threads end with the last one.</summary>
    private void ReleasePool()
    {
        BlkIoPool? ending = null;
        lock (_poolLock)
        {
            if (--_poolUsers == 0)
            {
                ending = _pool;
                _pool = null;
            }
        }

        ending?.Dispose();
    }

    private static ulong ComputeFeatures(BlkDeviceOptions options)
    {
        ulong features = VirtioFeatures.Version1
            | BlkFeatures.SegMax
            | BlkFeatures.BlkSize
            | BlkFeatures.Flush
            | BlkFeatures.Topology
            | BlkFeatures.ConfigWce;
        if (options.NumQueues > 1)
        {
            features |= BlkFeatures.Mq;
        }

        features |= options.ReadOnly
            ? BlkFeatures.ReadOnly
            : BlkFeatures.Discard | BlkFeatures.WriteZeroes;
        return features;
    }

    /// <summary>Writethrough unless FLUSH was negotiated and the driver left (or set) writeback on.</summary>
    private void UpdateCacheMode() =>
        _processor.Writethrough = (_ackedFeatures & BlkFeatures.Flush) == 0 || _writeback == 0;

    /// <summary>Writes the whole <c>struct virtio_blk_config</c>; the caller holds <see cref="_configLock"/>.</summary>
    private void FillConfig(Span<byte> c)
    {
        c.Clear();
        uint blockSize = _image.LogicalBlockSize;
        BinaryPrimitives.WriteUInt64LittleEndian(c[BlkConfigLayout.Capacity..], _processor.CapacitySectors);
        BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.SegMax..], (uint)(_options.QueueSize - 2));
        BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.BlkSize..], blockSize);
        c[BlkConfigLayout.PhysicalBlockExp] = (byte)BitOperations.Log2(Math.Max(1u, _image.PhysicalBlockSize / blockSize));
        c[BlkConfigLayout.AlignmentOffset] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(c[BlkConfigLayout.MinIoSize..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.OptIoSize..], 0);
        c[BlkConfigLayout.Writeback] = _writeback;
        BinaryPrimitives.WriteUInt16LittleEndian(c[BlkConfigLayout.NumQueues..], (ushort)_options.NumQueues);
        if (!_options.ReadOnly)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.MaxDiscardSectors..], BlkRequestProcessor.MaxDiscardSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.MaxDiscardSeg..], BlkRequestProcessor.MaxDiscardSegments);
            BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.DiscardSectorAlignment..], blockSize / BlkImage.SectorSize);
            BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.MaxWriteZeroesSectors..], BlkRequestProcessor.MaxWriteZeroesSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(c[BlkConfigLayout.MaxWriteZeroesSeg..], BlkRequestProcessor.MaxWriteZeroesSegments);
            c[BlkConfigLayout.WriteZeroesMayUnmap] = 1;
        }
    }
}
