// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// The disk behind a block device: a raw image file or a block device, opened read-write or
/// (for <c>--read-only</c>) <c>O_RDONLY</c>, so a read-only device cannot change the data even by mistake.
/// With <c>--direct</c> it is opened twice: <c>O_DIRECT</c> for transfers aligned as direct I/O needs
/// (no copy into the host's page cache, and writes that io_uring can run without a worker thread),
/// and plainly for the rest, which a guest may send (a 512-byte-aligned buffer on a 4 KiB disk).
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

    // The page size: the alignment assumed for O_DIRECT where the kernel does not state one.
    private const uint FallbackDirectAlignment = 4096;

    private long _unaligned;

    private BlkImage(string path, FileDescriptor handle, FileDescriptor bufferedHandle, bool readOnly, bool isBlockDevice, uint logicalBlockSize, uint physicalBlockSize)
    {
        Path = path;
        Handle = handle;
        BufferedHandle = bufferedHandle;
        IsReadOnly = readOnly;
        IsBlockDevice = isBlockDevice;
        LogicalBlockSize = logicalBlockSize;
        PhysicalBlockSize = physicalBlockSize;
    }

    /// <summary>The path the image was opened from.</summary>
    public string Path { get; }

    /// <summary>
    /// The open image (close-on-exec); <c>O_DIRECT</c> when <see cref="IsDirect"/>, so only a transfer
    /// that <see cref="HandleFor"/> chose may use it.
    /// </summary>
    public FileDescriptor Handle { get; }

    /// <summary>
    /// The image opened without <c>O_DIRECT</c>: for transfers that are not aligned for direct I/O.
    /// The same descriptor as <see cref="Handle"/> unless <see cref="IsDirect"/>.
    /// </summary>
    public FileDescriptor BufferedHandle { get; }

    /// <summary>Whether aligned transfers bypass the host's page cache (<c>--direct</c>).</summary>
    public bool IsDirect => !ReferenceEquals(Handle, BufferedHandle);

    /// <summary>The alignment <c>O_DIRECT</c> needs of each buffer's address (1 when not <see cref="IsDirect"/>).</summary>
    public uint DirectMemoryAlignment { get; private init; } = 1;

    /// <summary>The alignment <c>O_DIRECT</c> needs of the file offset and of each buffer's length (1 when not <see cref="IsDirect"/>).</summary>
    public uint DirectOffsetAlignment { get; private init; } = 1;

    /// <summary>How many transfers went through the page cache for want of alignment (only counted when <see cref="IsDirect"/>).</summary>
    public long UnalignedTransfers => Interlocked.Read(ref _unaligned);

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

    /// <summary>
    /// Opens <paramref name="path"/> read-write, or read-only when <paramref name="readOnly"/> is set;
    /// with <paramref name="direct"/>, a second time with <c>O_DIRECT</c> for aligned transfers.
    /// </summary>
    /// <exception cref="IOException">
    /// The path is a directory, cannot be opened, its size cannot be read, or (with
    /// <paramref name="direct"/>) its file system has no direct I/O.
    /// </exception>
    public static BlkImage Open(string path, bool readOnly, bool direct = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            throw new IOException($"{path}: is a directory, not an image file or block device");
        }

        FileDescriptor handle = FileIo.Open(path, readOnly ? LibC.O_RDONLY : LibC.O_RDWR);
        FileDescriptor? directHandle = null;
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

            uint memory = 1;
            uint offset = 1;
            if (direct)
            {
                (directHandle, memory, offset) = OpenDirect(path, readOnly, isBlockDevice, logical);
            }

            BlkImage image = new(path, directHandle ?? handle, handle, readOnly, isBlockDevice, logical, physical)
            {
                IsInMemory = !isBlockDevice && OnMemoryFileSystem(handle),
                DirectMemoryAlignment = memory,
                DirectOffsetAlignment = offset,
            };
            _ = image.QuerySizeBytes();
            return image;
        }
        catch
        {
            directHandle?.Dispose();
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The descriptor for a transfer of <paramref name="iov"/> at <paramref name="offset"/>:
    /// <see cref="Handle"/> when the image is not direct or every address, every length and the
    /// offset are aligned as <c>O_DIRECT</c> needs; otherwise <see cref="BufferedHandle"/> (the
    /// kernel keeps the two coherent: a direct read writes back cached pages of its range first, a
    /// direct write drops them). <paramref name="firstUnaligned"/> is true for the first transfer
    /// that goes through the page cache, for one log line.
    /// </summary>
    public FileDescriptor HandleFor(ReadOnlySpan<IoVec> iov, long offset, out bool firstUnaligned)
    {
        firstUnaligned = false;
        if (!IsDirect)
        {
            return Handle;
        }

        ulong lengths = (ulong)offset;
        ulong addresses = 0;
        foreach (IoVec v in iov)
        {
            addresses |= (ulong)v.Base;
            lengths |= v.Length;
        }

        if ((addresses & (DirectMemoryAlignment - 1)) == 0 && (lengths & (DirectOffsetAlignment - 1)) == 0)
        {
            return Handle;
        }

        firstUnaligned = Interlocked.Increment(ref _unaligned) == 1;
        return BufferedHandle;
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
    public void Dispose()
    {
        Handle.Dispose();
        BufferedHandle.Dispose();
    }

    /// <summary>The image opened <c>O_DIRECT</c>, with the alignments direct I/O needs of buffers and of offsets and lengths.</summary>
    private static (FileDescriptor Handle, uint Memory, uint Offset) OpenDirect(string path, bool readOnly, bool isBlockDevice, uint logical)
    {
        if (!FileIo.TryOpen(path, (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_DIRECT, out FileDescriptor? direct, out int errno))
        {
            throw new IOException(errno == LibC.EINVAL
                ? $"{path}: its file system does not support direct I/O (O_DIRECT)"
                : $"{path}: cannot be opened with O_DIRECT: {Errno.Describe(errno)}");
        }

        if (!FileIo.TryGetDirectIoAlignment(direct, out uint memory, out uint offset))
        {
            // Before Linux 6.1 (6.11 for a block device) the kernel does not say: a block
            // device needs its logical block size, a file at most the page size.
            memory = offset = isBlockDevice ? logical : FallbackDirectAlignment;
        }
        else if (memory == 0 || offset == 0)
        {
            direct.Dispose();
            throw new IOException($"{path}: its file system does not support direct I/O (O_DIRECT)");
        }

        if (!BitIsPowerOfTwo(memory) || !BitIsPowerOfTwo(offset))
        {
            memory = offset = Math.Max(FallbackDirectAlignment, logical);
        }

        return (direct, memory, offset);
    }

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
