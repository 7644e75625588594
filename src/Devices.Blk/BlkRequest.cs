// SPDX-License-Identifier: MIT
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Blk;

/// <summary>One range of a discard or write-zeroes request, copied out of guest memory.</summary>
internal struct BlkSegment
{
    /// <summary>First sector.</summary>
    public ulong Sector;

    /// <summary>Number of sectors (at least 1).</summary>
    public uint Sectors;

    /// <summary>The unmap flag (write-zeroes only): the range may be deallocated.</summary>
    public bool Unmap;
}

/// <summary>
/// A request slot: everything the I/O thread needs to execute one parsed request, preallocated with
/// its iovec and segment arrays so the data path does not allocate. The queue's thread fills it
/// (<see cref="BlkRequestProcessor.Prepare"/>), an I/O thread executes it, and the queue's thread
/// completes it.
/// </summary>
internal sealed class BlkRequest
{
    public BlkRequest(int index, int maxIoVecs, int maxSegments, BlkQueueEngine? engine = null)
    {
        Index = index;
        _engine = engine;
        IoVecs = new IoVecList(maxIoVecs);
        Segments = new BlkSegment[maxSegments];
    }

    private readonly BlkQueueEngine? _engine;

    /// <summary>The slot's index in its queue's slot table.</summary>
    public int Index { get; }

    /// <summary>The queue engine the slot belongs to; the I/O threads give the request back to it.</summary>
    public BlkQueueEngine Engine => _engine ?? throw new System.InvalidOperationException("A synchronous request slot has no engine.");

    /// <summary>
    /// The data buffers as host addresses (guest memory is mapped, so they do not move); the list itself
    /// does not move either, so an io_uring operation may name it.
    /// </summary>
    public IoVecList IoVecs { get; }

    /// <summary>The discard/write-zeroes ranges.</summary>
    public BlkSegment[] Segments { get; }

    /// <summary>The chain's head, the id returned in the used ring.</summary>
    public ushort Head;

    /// <summary>The request type as read from the header.</summary>
    public BlkRequestType Type;

    /// <summary>The header's first sector (IN and OUT).</summary>
    public ulong Sector;

    /// <summary>Total bytes described by <see cref="IoVecs"/>.</summary>
    public uint DataLength;

    /// <summary>Entries used in <see cref="IoVecs"/>.</summary>
    public int IoVecCount;

    /// <summary>Entries used in <see cref="Segments"/>.</summary>
    public int SegmentCount;

    /// <summary>Whether a write must be durable before it completes (writethrough cache mode).</summary>
    public bool Writethrough;

    /// <summary>The memory map the request's buffers came from; the status byte is written through it.</summary>
    public GuestMemoryMap? Memory;

    /// <summary>Whether the engine holds a lease on <see cref="Memory"/> for this request (it went to an I/O thread).</summary>
    public bool Leased;

    /// <summary>The guest address of the status byte (the chain's last writable byte).</summary>
    public ulong StatusGpa;

    /// <summary>The outcome.</summary>
    public BlkStatus Status;

    /// <summary>The used length: bytes written to writable buffers, including the status byte.</summary>
    public uint Written;

    /// <summary>io_uring engine: data bytes moved so far (a short transfer is resumed from here).</summary>
    public uint Done;

    /// <summary>io_uring engine: the first entry of <see cref="IoVecs"/> not yet transferred.</summary>
    public int FirstIoVec;

    /// <summary>io_uring engine: the data moved and the writethrough fdatasync runs.</summary>
    public bool Syncing;

    /// <summary>Forgets the previous request (drops the memory map reference).</summary>
    public void Reset()
    {
        Head = 0;
        Type = BlkRequestType.In;
        Sector = 0;
        DataLength = 0;
        IoVecCount = 0;
        SegmentCount = 0;
        Writethrough = false;
        Memory = null;
        Leased = false;
        StatusGpa = 0;
        Status = BlkStatus.Ok;
        Written = 0;
        Done = 0;
        FirstIoVec = 0;
        Syncing = false;
    }
}
