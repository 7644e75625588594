// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// Byte offsets of <c>struct virtio_blk_config</c> (virtio 1.2 §5.2.4), little-endian, up to and
/// including the secure-erase fields. The device serves <see cref="Size"/> bytes.
/// </summary>
public static class BlkConfigLayout
{
    /// <summary><c>le64 capacity</c>: size in 512-byte sectors.</summary>
    public const int Capacity = 0;

    /// <summary><c>le32 size_max</c>.</summary>
    public const int SizeMax = 8;

    /// <summary><c>le32 seg_max</c>.</summary>
    public const int SegMax = 12;

    /// <summary><c>struct virtio_blk_geometry</c> (le16 cylinders, u8 heads, u8 sectors).</summary>
    public const int Geometry = 16;

    /// <summary><c>le32 blk_size</c>: the logical block size in bytes.</summary>
    public const int BlkSize = 20;

    /// <summary><c>u8 physical_block_exp</c>: log2 of logical blocks per physical block.</summary>
    public const int PhysicalBlockExp = 24;

    /// <summary><c>u8 alignment_offset</c>: offset of the first aligned logical block.</summary>
    public const int AlignmentOffset = 25;

    /// <summary><c>le16 min_io_size</c>: suggested minimum I/O size in logical blocks.</summary>
    public const int MinIoSize = 26;

    /// <summary><c>le32 opt_io_size</c>: optimal sustained I/O size in logical blocks.</summary>
    public const int OptIoSize = 28;

    /// <summary><c>u8 writeback</c>: 1 writeback, 0 writethrough (with <c>VIRTIO_BLK_F_CONFIG_WCE</c>).</summary>
    public const int Writeback = 32;

    /// <summary><c>le16 num_queues</c>.</summary>
    public const int NumQueues = 34;

    /// <summary><c>le32 max_discard_sectors</c>.</summary>
    public const int MaxDiscardSectors = 36;

    /// <summary><c>le32 max_discard_seg</c>.</summary>
    public const int MaxDiscardSeg = 40;

    /// <summary><c>le32 discard_sector_alignment</c>.</summary>
    public const int DiscardSectorAlignment = 44;

    /// <summary><c>le32 max_write_zeroes_sectors</c>.</summary>
    public const int MaxWriteZeroesSectors = 48;

    /// <summary><c>le32 max_write_zeroes_seg</c>.</summary>
    public const int MaxWriteZeroesSeg = 52;

    /// <summary><c>u8 write_zeroes_may_unmap</c>.</summary>
    public const int WriteZeroesMayUnmap = 56;

    /// <summary><c>le32 max_secure_erase_sectors</c> (unused: 0).</summary>
    public const int MaxSecureEraseSectors = 60;

    /// <summary><c>le32 max_secure_erase_seg</c> (unused: 0).</summary>
    public const int MaxSecureEraseSeg = 64;

    /// <summary><c>le32 secure_erase_sector_alignment</c> (unused: 0).</summary>
    public const int SecureEraseSectorAlignment = 68;

    /// <summary>The size of the config space served.</summary>
    public const int Size = 72;
}
