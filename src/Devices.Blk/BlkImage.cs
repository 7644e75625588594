// SPDX-License-Identifier: MIT
using System;
using System.IO;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// The disk behind a block device: a raw image file or a block device, opened read-write or
/// (for <c>--read-only</c>) <c>O_RDONLY</c>, so a read-only device cannot change the data even by mistake.
/// </summary>
public sealed class BlkImage : IDisposable
{
    /// <summary>The virtio sector size: capacity and request sectors are always in 512-byte units.</summary>
    public const int SectorSize = 512;

    // <linux/fs.h>: BLKSSZGET _IO(0x12,104) (int), BLKPBSZGET _IO(0x12,123) (unsigned int),
    // BLKGETSIZE64 _IOR(0x12,114,size_t) (u64).
    private static readonly uint BlkSszGet = IoCtl.Io(0x12, 104);
    private static readonly uint BlkPbszGet = IoCtl.Io(0x12, 123);
    private static readonly uint BlkGetSize64 = IoCtl.Ior(0x12, 114, sizeof(ulong));

    private BlkImage(string path, FileDescriptor handle, bool readOnly, bool isBlockDevice, uint logicalBlockSize, uint physicalBlockSize)
    {
        Path = path;
        Handle = handle;
        IsReadOnly = readOnly;
        IsBlockDevice = isBlockDevice;
        LogicalBlockSize = logicalBlockSize;
        PhysicalBlockSize = physicalBlockSize;
    }

    /// <summary>The path the image was opened from.</summary>
    public string Path { get; }

    /// <summary>The open image (close-on-exec).</summary>
    public FileDescriptor Handle { get; }

    /// <summary>Whether the image was opened <c>O_RDONLY</c>.</summary>
    public bool IsReadOnly { get; }

    /// <summary>
    /// Whether the image is a file on tmpfs or ramfs: its reads and writes are memory copies that
    /// never sleep, so they can run on the queue's worker without I/O threads.
    /// </summary>
    public bool IsInMemory { get; private init; }

    /// <summary>Whether the image is a block device (sizes come from <c>BLKGETSIZE64</c>/<c>BLKSSZGET</c>).</summary>
    public bool IsBlockDevice { get; }

    /// <summary>The logical block size in bytes: <c>BLKSSZGET</c> for a block device, 512 for a file.</summary>
    public uint LogicalBlockSize { get; }

    /// <summary>The physical block size in bytes: <c>BLKPBSZGET</c> for a block device, <see cref="LogicalBlockSize"/> for a file.</summary>
    public uint PhysicalBlockSize { get; }

    /// <summary>Opens <paramref name="path"/> read-write, or read-only when <paramref name="readOnly"/> is set.</summary>
    /// <exception cref="IOException">The path is a directory, cannot be opened, or its size cannot be read.</exception>
    public static BlkImage Open(string path, bool readOnly)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            throw new IOException($"{path}: is a directory, not an image file or block device");
        }

        FileDescriptor handle = FileIo.Open(path, readOnly ? LibC.O_RDONLY : LibC.O_RDWR);
        try
        {
            bool isBlockDevice = TryGetBlockDeviceSize(handle, out _);
            uint logical = SectorSize;
            uint physical = SectorSize;
            if (isBlockDevice)
            {
                int lbs = 0;
                IoCtl.Invoke(handle, BlkSszGet, ref lbs);
                uint pbs = 0;
                IoCtl.Invoke(handle, BlkPbszGet, ref pbs);
                logical = lbs >= SectorSize && BitIsPowerOfTwo((uint)lbs) ? (uint)lbs : SectorSize;
                physical = pbs >= logical && BitIsPowerOfTwo(pbs) ? pbs : logical;
            }

            BlkImage image = new(path, handle, readOnly, isBlockDevice, logical, physical) { IsInMemory = !isBlockDevice && OnMemoryFileSystem(handle) };
            _ = image.QuerySizeBytes();
            return image;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the current size in bytes: <c>BLKGETSIZE64</c> for a block device, the file size otherwise.
    /// Called at start and again on a resize request (<c>SIGHUP</c>).
    /// </summary>
    /// <exception cref="SysException">The size cannot be read.</exception>
    public long QuerySizeBytes()
    {
        if (IsBlockDevice)
        {
            ulong size = 0;
            IoCtl.Invoke(Handle, BlkGetSize64, ref size);
            return size > long.MaxValue ? long.MaxValue : (long)size;
        }

        return FileIo.SeekEnd(Handle);
    }

    /// <summary>The capacity in 512-byte sectors (a trailing partial sector is not exposed).</summary>
    public ulong QueryCapacitySectors() => (ulong)QuerySizeBytes() / SectorSize;

    /// <summary>Closes the image.</summary>
    public void Dispose() => Handle.Dispose();

    private static bool OnMemoryFileSystem(FileDescriptor handle)
    {
        const long TmpfsMagic = 0x01021994;
        const long RamfsMagic = unchecked((long)0x858458f6);
        return FileIo.FileSystemType(handle) is TmpfsMagic or RamfsMagic;
    }

    private static bool BitIsPowerOfTwo(uint v) => v != 0 && (v & (v - 1)) == 0;

    /// <summary>
    /// True for a block device; false for anything that refuses the ioctl (a regular file answers
    /// <c>ENOTTY</c>; a few file systems answer <c>EINVAL</c>).
    /// </summary>
    private static bool TryGetBlockDeviceSize(FileDescriptor handle, out ulong size)
    {
        size = 0;
        try
        {
            IoCtl.Invoke(handle, BlkGetSize64, ref size);
            return true;
        }
        catch (SysException)
        {
            return false;
        }
    }
}
