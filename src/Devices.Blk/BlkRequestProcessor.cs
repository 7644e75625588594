// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.Linux;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Blk;

/// <summary>The outcome of one request processed by <see cref="BlkRequestProcessor.Process"/>.</summary>
public readonly struct BlkCompletion
{
    /// <summary>Creates a completion.</summary>
    public BlkCompletion(BlkStatus status, uint written, string? brokenReason)
    {
        Status = status;
        Written = written;
        BrokenReason = brokenReason;
    }

    /// <summary>The status byte written to the request.</summary>
    public BlkStatus Status { get; }

    /// <summary>The used length: bytes written to the writable buffers, including the status byte.</summary>
    public uint Written { get; }

    /// <summary>
    /// Why the chain cannot be completed at all (it has no status byte); the queue must then be
    /// marked broken. Null for every request that completed, even with an error status.
    /// </summary>
    public string? BrokenReason { get; }

    /// <summary>Whether the chain could not be completed and the queue must be marked broken.</summary>
    public bool IsBroken => BrokenReason is not null;
}

/// <summary>What <see cref="BlkRequestProcessor.Prepare"/> decided.</summary>
internal enum PrepareOutcome
{
    /// <summary>The chain has no status byte: mark the queue broken, push nothing.</summary>
    Broken,

    /// <summary>The request is finished (an error, GET_ID, an empty write): complete it now.</summary>
    Completed,

    /// <summary>The request needs file I/O: run <see cref="BlkRequestProcessor.Execute"/>, then complete it.</summary>
    Submit,
}

/// <summary>
/// The virtio-blk request logic (virtio 1.2 §5.2.6), independent of vhost-user: parses a descriptor
/// chain, checks it against the disk and the advertised limits, performs the I/O on the image with
/// <c>preadv</c>/<c>pwritev</c> straight on guest memory, and writes the status byte.
/// </summary>
/// <remarks>
/// <para>
/// Every guest-supplied field is hostile: lengths, sectors, segment counts and flags are checked
/// before any I/O, and a malformed chain completes with <see cref="BlkStatus.IoErr"/> when it has a
/// status byte. Nothing here throws because of guest input.
/// </para>
/// <para>
/// The request pipeline has three phases so the queue engine can run the middle one on an I/O
/// thread: <see cref="Prepare"/> (worker thread), <see cref="Execute"/> (any thread) and
/// <see cref="Complete"/> (worker thread). <see cref="Process"/> runs all three synchronously.
/// </para>
/// </remarks>
public sealed class BlkRequestProcessor
{
    /// <summary>The most segments accepted in one discard request (<c>max_discard_seg</c>).</summary>
    public const int MaxDiscardSegments = 32;

    /// <summary>The most segments accepted in one write-zeroes request (<c>max_write_zeroes_seg</c>).</summary>
    public const int MaxWriteZeroesSegments = 32;

    /// <summary>The most sectors in one discard segment (<c>max_discard_sectors</c>): 2 GiB - 512.</summary>
    public const uint MaxDiscardSectors = 0x3F_FFFF;

    /// <summary>The most sectors in one write-zeroes segment (<c>max_write_zeroes_sectors</c>): 2 GiB - 512.</summary>
    public const uint MaxWriteZeroesSectors = 0x3F_FFFF;

    /// <summary>The length of the GET_ID answer (<c>VIRTIO_BLK_ID_BYTES</c>).</summary>
    public const int IdBytes = 20;

    private const int HeaderSize = 16;
    private const int SegmentSize = 16;
    private const uint UnmapFlag = 1;
    private const int ZeroChunk = 64 * 1024;
    private const int ZeroVecs = 16;

    // One pinned page-cache-sized block of zeros, the source of every fallback zero write.
    private static readonly byte[] s_zeros = GC.AllocateArray<byte>(ZeroChunk, pinned: true);

    private readonly BlkImage _image;
    private readonly byte[] _serial = new byte[IdBytes];
    private ILogger _logger;
    private long _capacity;
    private volatile bool _writethrough;
    private volatile bool _punchHoleUnsupported;
    private volatile bool _zeroRangeUnsupported;
    private BlkRequest? _syncRequest;

    /// <summary>Creates the processor for <paramref name="image"/>.</summary>
    /// <param name="image">The open disk; its current size becomes <see cref="CapacitySectors"/>.</param>
    /// <param name="serial">The GET_ID answer: at most 20 bytes of UTF-8, zero padded; null for none.</param>
    /// <param name="logger">Where I/O errors are reported; null for none.</param>
    /// <exception cref="ArgumentException">The serial is longer than 20 bytes.</exception>
    public BlkRequestProcessor(BlkImage image, string? serial = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        _image = image;
        _logger = logger ?? NullLogger.Instance;
        if (!string.IsNullOrEmpty(serial))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(serial) > IdBytes)
            {
                throw new ArgumentException($"The serial is longer than {IdBytes} bytes.", nameof(serial));
            }

            System.Text.Encoding.UTF8.GetBytes(serial, _serial);
        }

        _capacity = (long)image.QueryCapacitySectors();
    }

    /// <summary>The disk.</summary>
    public BlkImage Image => _image;

    /// <summary>The logger (replaced once the device is attached to its host).</summary>
    internal ILogger Logger
    {
        get => _logger;
        set => _logger = value;
    }

    /// <summary>
    /// The capacity in 512-byte sectors that requests are checked against. Updated on resize; read
    /// once per request.
    /// </summary>
    public ulong CapacitySectors
    {
        get => (ulong)Volatile.Read(ref _capacity);
        set => Volatile.Write(ref _capacity, (long)Math.Min(value, long.MaxValue / BlkImage.SectorSize));
    }

    /// <summary>
    /// Whether writes must be durable before they complete (writethrough): after every OUT and
    /// WRITE_ZEROES the image is <c>fdatasync</c>ed. False (writeback) leaves durability to FLUSH.
    /// </summary>
    public bool Writethrough
    {
        get => _writethrough;
        set => _writethrough = value;
    }

    /// <summary>
    /// Processes one request synchronously: parse, I/O, status byte. For tests and simple callers;
    /// not thread-safe (it reuses one preallocated request slot).
    /// </summary>
    /// <param name="readable">The chain's device-readable buffers.</param>
    /// <param name="writable">The chain's device-writable buffers (the status byte is the last byte).</param>
    /// <param name="memory">The guest memory the buffers live in.</param>
    public BlkCompletion Process(ReadOnlySpan<Descriptor> readable, ReadOnlySpan<Descriptor> writable, GuestMemoryMap memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        BlkRequest request = _syncRequest ??= new BlkRequest(0, FileIo.MaxIoVecs, Math.Max(MaxDiscardSegments, MaxWriteZeroesSegments));
        PrepareOutcome outcome = Prepare(request, 0, readable, writable, memory, out string? brokenReason);
        if (outcome == PrepareOutcome.Broken)
        {
            request.Reset();
            return new BlkCompletion(BlkStatus.IoErr, 0, brokenReason);
        }

        if (outcome == PrepareOutcome.Submit)
        {
            Execute(request);
        }

        BlkStatus status = request.Status;
        uint written = Complete(request);
        return new BlkCompletion(status, written, null);
    }

    /// <summary>
    /// Phase 1 (worker thread): parses and checks the chain into <paramref name="request"/>.
    /// Never throws for guest input.
    /// </summary>
    internal PrepareOutcome Prepare(
        BlkRequest request,
        ushort head,
        ReadOnlySpan<Descriptor> readable,
        ReadOnlySpan<Descriptor> writable,
        GuestMemoryMap memory,
        out string? brokenReason)
    {
        request.Reset();
        request.Head = head;
        brokenReason = null;

        // The status byte is the last writable byte (§5.2.6: "u8 status" ends the request). Trailing
        // zero-length buffers carry no bytes, so skip them.
        int last = writable.Length - 1;
        while (last >= 0 && writable[last].Length == 0)
        {
            last--;
        }

        if (last < 0)
        {
            brokenReason = "request has no device-writable status byte";
            return PrepareOutcome.Broken;
        }

        ulong statusGpa = writable[last].Address + writable[last].Length - 1;
        if (!memory.TryGetSpan(statusGpa, 1, out _))
        {
            brokenReason = "request status byte is outside guest memory";
            return PrepareOutcome.Broken;
        }

        request.Memory = memory;
        request.StatusGpa = statusGpa;
        ulong readableTotal = TotalLength(readable);
        ulong writableTotal = TotalLength(writable);

        Span<byte> header = stackalloc byte[HeaderSize];
        if (readableTotal < HeaderSize || !TryCopyFrom(readable, memory, 0, header))
        {
            return Finish(request, BlkStatus.IoErr);
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        request.Type = (BlkRequestType)type;
        request.Sector = sector;
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            Log.Request(_logger, head, type, sector, readableTotal, writableTotal);
        }

        switch ((BlkRequestType)type)
        {
            case BlkRequestType.In:
                return PrepareRead(request, writable, memory, writableTotal - 1);
            case BlkRequestType.Out:
                return PrepareWrite(request, readable, memory, readableTotal - HeaderSize);
            case BlkRequestType.Flush:
                return PrepareOutcome.Submit;
            case BlkRequestType.GetId:
                return PrepareGetId(request, writable, memory, writableTotal - 1);
            case BlkRequestType.Discard:
            case BlkRequestType.WriteZeroes:
                return PrepareRanges(request, readable, memory, readableTotal - HeaderSize);
            default:
                return Finish(request, BlkStatus.Unsupp);
        }
    }

    /// <summary>Phase 2 (an I/O thread): performs the file I/O and sets the status.</summary>
    internal void Execute(BlkRequest request)
    {
        try
        {
            bool ok = request.Type switch
            {
                BlkRequestType.In => ReadAll(request),
                BlkRequestType.Out => WriteAll(request),
                BlkRequestType.Flush => Sync(),
                BlkRequestType.Discard => DiscardAll(request),
                BlkRequestType.WriteZeroes => WriteZeroesAll(request),
                _ => false,
            };
            request.Status = ok ? BlkStatus.Ok : BlkStatus.IoErr;
            request.Written = ok && request.Type == BlkRequestType.In ? request.DataLength + 1 : 1;
        }
        catch (SysException e)
        {
            Log.IoFailed(_logger, request.Type, request.Sector, e.Call, e.Errno, e.Message);
            request.Status = BlkStatus.IoErr;
            request.Written = 1;
        }
    }

    /// <summary>
    /// Phase 3 (worker thread): writes the status byte and returns the used length. Drops the slot's
    /// reference to the memory map.
    /// </summary>
    internal static uint Complete(BlkRequest request)
    {
        GuestMemoryMap? memory = request.Memory;
        if (memory is not null && memory.TryGetSpan(request.StatusGpa, 1, out Span<byte> status))
        {
            status[0] = (byte)request.Status;
        }

        uint written = request.Written;
        request.Memory = null;
        return written;
    }

    private static PrepareOutcome Finish(BlkRequest request, BlkStatus status, uint dataWritten = 0)
    {
        request.Status = status;
        request.Written = dataWritten + 1;
        return PrepareOutcome.Completed;
    }

    private static ulong TotalLength(ReadOnlySpan<Descriptor> descriptors)
    {
        ulong total = 0;
        foreach (Descriptor d in descriptors)
        {
            total += d.Length;
        }

        return total;
    }

    /// <summary>Gathers <paramref name="destination"/>.Length bytes starting <paramref name="offset"/> bytes into the buffers.</summary>
    private static bool TryCopyFrom(ReadOnlySpan<Descriptor> descriptors, GuestMemoryMap memory, ulong offset, Span<byte> destination)
    {
        foreach (Descriptor d in descriptors)
        {
            if (destination.IsEmpty)
            {
                break;
            }

            if (offset >= d.Length)
            {
                offset -= d.Length;
                continue;
            }

            uint take = (uint)Math.Min((ulong)destination.Length, d.Length - offset);
            if (!memory.TryGetSpan(d.Address + offset, take, out Span<byte> source))
            {
                return false;
            }

            source.CopyTo(destination);
            destination = destination[(int)take..];
            offset = 0;
        }

        return destination.IsEmpty;
    }

    /// <summary>Scatters <paramref name="source"/> into the buffers from their start.</summary>
    private static bool TryCopyTo(ReadOnlySpan<Descriptor> descriptors, GuestMemoryMap memory, ReadOnlySpan<byte> source)
    {
        foreach (Descriptor d in descriptors)
        {
            if (source.IsEmpty)
            {
                break;
            }

            uint take = (uint)Math.Min(source.Length, d.Length);
            if (!memory.TryGetSpan(d.Address, take, out Span<byte> target))
            {
                return false;
            }

            source[..(int)take].CopyTo(target);
            source = source[(int)take..];
        }

        return source.IsEmpty;
    }

    /// <summary>
    /// Describes <paramref name="length"/> bytes of the buffers, starting <paramref name="offset"/>
    /// bytes in, as iovecs in <paramref name="request"/>. False when they need more iovecs than the slot has.
    /// </summary>
    private static unsafe bool TryMapData(BlkRequest request, ReadOnlySpan<Descriptor> descriptors, GuestMemoryMap memory, ulong offset, uint length)
    {
        IoVecList iov = request.IoVecs;
        int count = 0;
        uint remaining = length;
        foreach (Descriptor d in descriptors)
        {
            if (remaining == 0)
            {
                break;
            }

            if (offset >= d.Length)
            {
                offset -= d.Length;
                continue;
            }

            uint take = (uint)Math.Min(remaining, d.Length - offset);
            if (take == 0)
            {
                continue;
            }

            if (count == iov.Length || !memory.TryGetSpan(d.Address + offset, take, out Span<byte> span))
            {
                return false;
            }

            // SAFETY: guest memory is a shared mapping, not managed memory, so the address stays
            // valid while the region is mapped; the engine holds a lease on this map until the
            // request is pushed, and a region stays mapped while any leased map contains it.
            iov[count++] = new IoVec((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)), take);
            remaining -= take;
            offset = 0;
        }

        request.IoVecCount = count;
        request.DataLength = length;
        return remaining == 0;
    }

    /// <summary>Advances the iovec window past <paramref name="done"/> bytes; returns the new first entry.</summary>
    internal static int Advance(IoVecList iov, int first, int end, long done)
    {
        while (first < end && done >= (long)iov[first].Length)
        {
            done -= (long)iov[first].Length;
            first++;
        }

        if (done > 0 && first < end)
        {
            iov[first].Base += (nint)done;
            iov[first].Length -= (nuint)done;
        }

        return first;
    }

    private bool InRange(ulong sector, ulong sectors)
    {
        ulong capacity = CapacitySectors;
        return sector <= capacity && sectors <= capacity - sector;
    }

    private PrepareOutcome PrepareRead(BlkRequest request, ReadOnlySpan<Descriptor> writable, GuestMemoryMap memory, ulong length)
    {
        // A read needs at least one sector of writable data before the status byte.
        if (length == 0 || length % BlkImage.SectorSize != 0 || length > uint.MaxValue
            || !InRange(request.Sector, length / BlkImage.SectorSize)
            || !TryMapData(request, writable, memory, 0, (uint)length))
        {
            return Finish(request, BlkStatus.IoErr);
        }

        return PrepareOutcome.Submit;
    }

    private PrepareOutcome PrepareWrite(BlkRequest request, ReadOnlySpan<Descriptor> readable, GuestMemoryMap memory, ulong length)
    {
        if (_image.IsReadOnly || length % BlkImage.SectorSize != 0 || length > uint.MaxValue
            || !InRange(request.Sector, length / BlkImage.SectorSize))
        {
            return Finish(request, BlkStatus.IoErr);
        }

        if (length == 0)
        {
            return Finish(request, BlkStatus.Ok);
        }

        if (!TryMapData(request, readable, memory, HeaderSize, (uint)length))
        {
            return Finish(request, BlkStatus.IoErr);
        }

        request.Writethrough = _writethrough;
        return PrepareOutcome.Submit;
    }

    private PrepareOutcome PrepareGetId(BlkRequest request, ReadOnlySpan<Descriptor> writable, GuestMemoryMap memory, ulong length)
    {
        int n = (int)Math.Min(IdBytes, length);
        return TryCopyTo(writable, memory, _serial.AsSpan(0, n))
            ? Finish(request, BlkStatus.Ok, (uint)n)
            : Finish(request, BlkStatus.IoErr);
    }

    private PrepareOutcome PrepareRanges(BlkRequest request, ReadOnlySpan<Descriptor> readable, GuestMemoryMap memory, ulong length)
    {
        bool discard = request.Type == BlkRequestType.Discard;
        int maxSegments = discard ? MaxDiscardSegments : MaxWriteZeroesSegments;
        uint maxSectors = discard ? MaxDiscardSectors : MaxWriteZeroesSectors;
        if (_image.IsReadOnly || length == 0 || length % SegmentSize != 0 || length / SegmentSize > (ulong)maxSegments
            || maxSegments > request.Segments.Length)
        {
            return Finish(request, BlkStatus.IoErr);
        }

        int count = (int)(length / SegmentSize);
        Span<byte> raw = stackalloc byte[SegmentSize];
        for (int i = 0; i < count; i++)
        {
            // Copy each range once: the guest can change its buffers at any time.
            if (!TryCopyFrom(readable, memory, HeaderSize + ((ulong)i * SegmentSize), raw))
            {
                return Finish(request, BlkStatus.IoErr);
            }

            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(raw);
            uint sectors = BinaryPrimitives.ReadUInt32LittleEndian(raw[8..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(raw[12..]);

            // §5.2.6.2: unknown flags are UNSUPP, and so is unmap on a discard.
            if ((flags & ~UnmapFlag) != 0 || (discard && flags != 0))
            {
                return Finish(request, BlkStatus.Unsupp);
            }

            if (sectors == 0 || sectors > maxSectors || !InRange(sector, sectors))
            {
                return Finish(request, BlkStatus.IoErr);
            }

            request.Segments[i] = new BlkSegment { Sector = sector, Sectors = sectors, Unmap = (flags & UnmapFlag) != 0 };
        }

        request.SegmentCount = count;
        request.Writethrough = _writethrough;
        return PrepareOutcome.Submit;
    }

    private bool ReadAll(BlkRequest request) => TransferAll(request, write: false);

    private bool WriteAll(BlkRequest request) => TransferAll(request, write: true) && (!request.Writethrough || Sync());

    /// <summary>
    /// Moves the request's whole data range with preadv/pwritev straight between the image and guest
    /// memory, resuming after short transfers. Zero bytes moved means the image shrank under us: the
    /// sectors asked for no longer exist.
    /// </summary>
    private bool TransferAll(BlkRequest request, bool write)
    {
        IoVecList iov = request.IoVecs;
        int first = 0;
        int end = request.IoVecCount;
        long offset = (long)(request.Sector * BlkImage.SectorSize);
        long remaining = request.DataLength;
        while (remaining > 0)
        {
            ReadOnlySpan<IoVec> pending = iov.AsSpan(first, end - first);
            FileDescriptor file = _image.HandleFor(pending, offset, out bool firstUnaligned);
            if (firstUnaligned)
            {
                Log.UnalignedDirect(_logger, request.Type, request.Sector);
            }

            long n = write ? FileIo.PWriteV(file, pending, offset) : FileIo.PReadV(file, pending, offset);
            if (n <= 0)
            {
                Log.ShortIo(_logger, request.Type, request.Sector, remaining);
                return false;
            }

            remaining -= n;
            offset += n;
            first = Advance(iov, first, end, n);
        }

        return true;
    }

    private bool Sync()
    {
        FileIo.FDataSync(_image.Handle);
        return true;
    }

    private bool DiscardAll(BlkRequest request)
    {
        // Discard is a hint (§5.2.6.4: the device may ignore it); without hole punching it is a no-op.
        for (int i = 0; i < request.SegmentCount && !_punchHoleUnsupported; i++)
        {
            BlkSegment s = request.Segments[i];
            _ = TryFallocate(FallocateMode.PunchHole | FallocateMode.KeepSize, s);
        }

        return true;
    }

    private bool WriteZeroesAll(BlkRequest request)
    {
        for (int i = 0; i < request.SegmentCount; i++)
        {
            BlkSegment s = request.Segments[i];

            // With unmap the range may be deallocated: a punched hole reads back as zeros. Otherwise
            // (or if punching is unsupported) zero it in place, and as a last resort write zeros.
            if (s.Unmap && !_punchHoleUnsupported
                && TryFallocate(FallocateMode.PunchHole | FallocateMode.KeepSize, s))
            {
                continue;
            }

            if (!_zeroRangeUnsupported
                && TryFallocate(FallocateMode.ZeroRange | FallocateMode.KeepSize, s))
            {
                continue;
            }

            WriteZeros((long)(s.Sector * BlkImage.SectorSize), (long)s.Sectors * BlkImage.SectorSize);
        }

        return !request.Writethrough || Sync();
    }

    /// <summary>
    /// One <c>fallocate</c>; false when the file system refuses it, so the caller falls back. An
    /// <c>EOPNOTSUPP</c> answer is remembered so later requests skip the call.
    /// </summary>
    private bool TryFallocate(FallocateMode mode, BlkSegment segment)
    {
        try
        {
            FileIo.Fallocate(_image.Handle, mode, (long)(segment.Sector * BlkImage.SectorSize), (long)segment.Sectors * BlkImage.SectorSize);
            return true;
        }
        catch (SysException e)
        {
            if (e.Errno == LibC.EOPNOTSUPP)
            {
                if ((mode & FallocateMode.PunchHole) != 0)
                {
                    _punchHoleUnsupported = true;
                }
                else
                {
                    _zeroRangeUnsupported = true;
                }

                Log.FallocateUnsupported(_logger, mode);
            }
            else
            {
                Log.FallocateFailed(_logger, mode, segment.Sector, e.Errno, e.Message);
            }

            return false;
        }
    }

    private unsafe void WriteZeros(long offset, long length)
    {
        Span<IoVec> iov = stackalloc IoVec[ZeroVecs];

        // SAFETY: s_zeros is pinned for the life of the process.
        nint zeros = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(s_zeros));
        while (length > 0)
        {
            int count = 0;
            long chunk = Math.Min(length, (long)ZeroChunk * ZeroVecs);
            for (long left = chunk; left > 0; left -= ZeroChunk)
            {
                iov[count++] = new IoVec(zeros, (nuint)Math.Min(left, ZeroChunk));
            }

            long n = FileIo.PWriteV(_image.BufferedHandle, iov[..count], offset);
            if (n <= 0)
            {
                throw new SysException("pwritev(zeros)", 28 /* ENOSPC */);
            }

            offset += n;
            length -= n;
        }
    }
}
