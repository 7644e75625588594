// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Devices.Blk;

/// <summary>How a <see cref="BlkDevice"/> serves its image (the <c>vhost-user-blk</c> command line).</summary>
public sealed class BlkDeviceOptions
{
    /// <summary>The largest queue size accepted (QEMU's <c>VIRTQUEUE_MAX_SIZE</c>; also <c>IOV_MAX</c>).</summary>
    public const int MaxQueueSizeLimit = 1024;

    /// <summary>The most request queues (<c>VIRTIO_BLK_F_MQ</c>).</summary>
    public const int MaxQueues = 64;

    /// <summary>The image file or block device (<c>--blk-file</c>).</summary>
    public required string Path { get; init; }

    /// <summary>Serve the image read-only (<c>--read-only</c>): it is opened <c>O_RDONLY</c> and <c>VIRTIO_BLK_F_RO</c> is offered.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The GET_ID answer (<c>--serial</c>), at most 20 bytes; null for an empty id.</summary>
    public string? Serial { get; init; }

    /// <summary>The number of request queues (<c>--num-queues</c>), 1 to <see cref="MaxQueues"/>.</summary>
    public int NumQueues { get; init; } = 1;

    /// <summary>The largest queue size (<c>--queue-size</c>): a power of two from 4 to <see cref="MaxQueueSizeLimit"/>.</summary>
    public int QueueSize { get; init; } = 128;

    /// <summary>
    /// The device's I/O threads, shared by all its queues (<c>--io-threads</c>); 0 runs each request on
    /// its queue's thread, which suits images whose I/O never sleeps. Null chooses: 0 for an image on
    /// tmpfs or ramfs, else <see cref="DefaultIoThreads"/>.
    /// </summary>
    public int? IoThreads { get; init; }

    /// <summary>The I/O threads for an image on a real file system or a block device.</summary>
    public const int DefaultIoThreads = 4;

    /// <summary>
    /// Bypass the host's page cache (<c>--direct</c>): aligned transfers use the image opened
    /// <c>O_DIRECT</c>, the rest a second, plain descriptor.
    /// </summary>
    public bool Direct { get; init; }

    /// <summary>How file I/O is done (<c>--io-engine</c>).</summary>
    public BlkIoEngine IoEngine { get; init; } = BlkIoEngine.Auto;

    /// <summary>Checks every value; returns an error message, or null when the options are usable.</summary>
    public string? Validate()
    {
        if (string.IsNullOrEmpty(Path))
        {
            return "the image path is empty";
        }

        if (NumQueues < 1 || NumQueues > MaxQueues)
        {
            return $"the number of queues must be between 1 and {MaxQueues}";
        }

        if (QueueSize < 4 || QueueSize > MaxQueueSizeLimit || (QueueSize & (QueueSize - 1)) != 0)
        {
            return $"the queue size must be a power of two between 4 and {MaxQueueSizeLimit}";
        }

        if (IoThreads is < 0 or > 64)
        {
            return "the number of I/O threads must be between 0 and 64";
        }

        if (Serial is not null && System.Text.Encoding.UTF8.GetByteCount(Serial) > BlkRequestProcessor.IdBytes)
        {
            return $"the serial is longer than {BlkRequestProcessor.IdBytes} bytes";
        }

        return null;
    }

    /// <summary>Throws when <see cref="Validate"/> finds a problem.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void ThrowIfInvalid()
    {
        string? error = Validate();
        if (error is not null)
        {
            throw new ArgumentException(error);
        }
    }
}
