// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Blk;

/// <summary>virtio-blk feature bits (virtio 1.2 §5.2.3) as 64-bit masks.</summary>
public static class BlkFeatures
{
    /// <summary><c>VIRTIO_BLK_F_SIZE_MAX</c> (1): <c>size_max</c> bounds any single segment.</summary>
    public const ulong SizeMax = 1UL << 1;

    /// <summary><c>VIRTIO_BLK_F_SEG_MAX</c> (2): <c>seg_max</c> bounds the data segments of a request.</summary>
    public const ulong SegMax = 1UL << 2;

    /// <summary><c>VIRTIO_BLK_F_GEOMETRY</c> (4): legacy disk geometry is available.</summary>
    public const ulong Geometry = 1UL << 4;

    /// <summary><c>VIRTIO_BLK_F_RO</c> (5): the device is read-only.</summary>
    public const ulong ReadOnly = 1UL << 5;

    /// <summary><c>VIRTIO_BLK_F_BLK_SIZE</c> (6): <c>blk_size</c> holds the logical block size.</summary>
    public const ulong BlkSize = 1UL << 6;

    /// <summary><c>VIRTIO_BLK_F_FLUSH</c> (9): the device has a cache and accepts <c>VIRTIO_BLK_T_FLUSH</c>.</summary>
    public const ulong Flush = 1UL << 9;

    /// <summary><c>VIRTIO_BLK_F_TOPOLOGY</c> (10): the topology fields are valid.</summary>
    public const ulong Topology = 1UL << 10;

    /// <summary><c>VIRTIO_BLK_F_CONFIG_WCE</c> (11): the driver can switch the cache mode through <c>writeback</c>.</summary>
    public const ulong ConfigWce = 1UL << 11;

    /// <summary><c>VIRTIO_BLK_F_MQ</c> (12): <c>num_queues</c> request queues.</summary>
    public const ulong Mq = 1UL << 12;

    /// <summary><c>VIRTIO_BLK_F_DISCARD</c> (13): <c>VIRTIO_BLK_T_DISCARD</c> is supported.</summary>
    public const ulong Discard = 1UL << 13;

    /// <summary><c>VIRTIO_BLK_F_WRITE_ZEROES</c> (14): <c>VIRTIO_BLK_T_WRITE_ZEROES</c> is supported.</summary>
    public const ulong WriteZeroes = 1UL << 14;

    /// <summary><c>VIRTIO_BLK_F_SECURE_ERASE</c> (16): secure erase is supported (not offered here).</summary>
    public const ulong SecureErase = 1UL << 16;
}

/// <summary>Request types (<c>VIRTIO_BLK_T_*</c>, virtio 1.2 §5.2.6).</summary>
public enum BlkRequestType : uint
{
    /// <summary><c>VIRTIO_BLK_T_IN</c>: read sectors into the writable buffers.</summary>
    In = 0,

    /// <summary><c>VIRTIO_BLK_T_OUT</c>: write the readable buffers to sectors.</summary>
    Out = 1,

    /// <summary><c>VIRTIO_BLK_T_FLUSH</c>: make completed writes durable.</summary>
    Flush = 4,

    /// <summary><c>VIRTIO_BLK_T_GET_ID</c>: the device's serial, 20 bytes zero padded.</summary>
    GetId = 8,

    /// <summary><c>VIRTIO_BLK_T_GET_LIFETIME</c>: not supported.</summary>
    GetLifetime = 10,

    /// <summary><c>VIRTIO_BLK_T_DISCARD</c>: deallocate ranges (a hint).</summary>
    Discard = 11,

    /// <summary><c>VIRTIO_BLK_T_WRITE_ZEROES</c>: make ranges read as zeros.</summary>
    WriteZeroes = 13,

    /// <summary><c>VIRTIO_BLK_T_SECURE_ERASE</c>: not supported.</summary>
    SecureErase = 14,
}

/// <summary>The status byte a request completes with (<c>VIRTIO_BLK_S_*</c>).</summary>
public enum BlkStatus : byte
{
    /// <summary><c>VIRTIO_BLK_S_OK</c>.</summary>
    Ok = 0,

    /// <summary><c>VIRTIO_BLK_S_IOERR</c>: the request failed or was malformed.</summary>
    IoErr = 1,

    /// <summary><c>VIRTIO_BLK_S_UNSUPP</c>: the request type or a flag is not supported.</summary>
    Unsupp = 2,
}
