// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Blk;

/// <summary>How a <see cref="BlkDevice"/> does its file I/O (<c>--io-engine</c>).</summary>
public enum BlkIoEngine
{
    /// <summary>io_uring for an image on a real file system or a block device; the queues' own threads for an image in memory.</summary>
    Auto,

    /// <summary>One io_uring per queue, whatever the image (falls back to threads, logged, where the kernel refuses).</summary>
    IoUring,

    /// <summary>Blocking calls on the device's I/O threads (or the queues' threads with <c>--io-threads 0</c>).</summary>
    Threads,
}
