// SPDX-License-Identifier: MIT
using System;
using System.Threading;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// One queue's io_uring: the queue's thread prepares each read, write and flush as a ring entry,
/// hands the whole batch to the kernel in one <c>io_uring_enter</c>, and reaps the results when the
/// queue's completion eventfd (registered with the ring) fires. No I/O thread, no hand-off.
/// </summary>
/// <remarks>
/// <para>
/// Reads and writes name guest memory directly. A single-buffer request inside the registered copy
/// of the memory table goes as a fixed-buffer operation (the kernel skips pinning its pages per
/// request); the rest as vectored ones. The table is registered again when it changed and nothing is
/// in flight, if it is small enough to pin whole (a loopback pool is; a virtual machine's RAM is
/// not); if the kernel refuses (<c>RLIMIT_MEMLOCK</c> below the table's size), every request goes
/// vectored and that is logged once.
/// </para>
/// <para>
/// A short transfer is resumed from where it stopped; one that moves nothing means the image shrank,
/// and fails the request as the threaded engine does. A writethrough write is followed by an
/// <c>fdatasync</c> before it completes. Discard and write-zeroes stay with the threaded engine:
/// their fallbacks between <c>fallocate</c> modes are a chain of blocking calls.
/// </para>
/// <para>Only the queue's thread touches an instance.</para>
/// </remarks>
internal sealed class BlkUring : IDisposable
{
    // io_uring refuses a registered buffer larger than 1 GiB: larger regions are split.
    private const ulong MaxFixedBuffer = 1UL << 30;

    // Registering memory faults in and pins every page of it: fine for a loopback pool (at most
    // 256 MiB), not for a virtual machine's whole RAM, whose requests go vectored instead.
    private const ulong MaxFixedTotal = 256UL << 20;

    private readonly IoUring _ring;
    private readonly BlkImage _image;
    private readonly ILogger _logger;
    private readonly int _queue;
    private GuestMemoryMap? _registered;
    private GuestMemoryMap? _considered;
    private ulong[] _fixedStarts = [];
    private ulong[] _fixedEnds = [];
    private bool _fixedRefused;

    private BlkUring(IoUring ring, BlkImage image, int queue, ILogger logger)
    {
        _ring = ring;
        _image = image;
        _queue = queue;
        _logger = logger;
    }

    /// <summary>Operations handed to the kernel (or prepared for it) and not yet reaped.</summary>
    public int InFlight { get; private set; }

    /// <summary>
    /// A ring for <paramref name="slots"/> requests whose completions signal <paramref name="completion"/>;
    /// null (and a logged reason) when the kernel has no io_uring or refuses it.
    /// </summary>
    public static BlkUring? TryCreate(int slots, BlkImage image, EventFd completion, int queue, ILogger logger)
    {
        IoUring? ring = null;
        try
        {
            ring = IoUring.Create((uint)slots);
            ring.RegisterEventFd(completion);
            return new BlkUring(ring, image, queue, logger);
        }
        catch (SysException e)
        {
            ring?.Dispose();
            Log.UringUnavailable(logger, queue, e.Message);
            return null;
        }
    }

    /// <summary>Whether the ring serves <paramref name="request"/> (reads, writes and flushes do).</summary>
    public static bool Serves(BlkRequest request) =>
        request.Type is BlkRequestType.In or BlkRequestType.Out or BlkRequestType.Flush;

    /// <summary>
    /// Registers <paramref name="memory"/>'s regions as fixed buffers if it is not the registered table
    /// and nothing is in flight (no operation can be using the old registration).
    /// </summary>
    public void UseMemory(GuestMemoryMap memory)
    {
        if (_fixedRefused || InFlight > 0 || ReferenceEquals(memory, _considered))
        {
            return;
        }

        _considered = memory;

        try
        {
            if (_registered is not null)
            {
                _registered = null;
                _ring.UnregisterBuffers();
            }

            // A table change happens a few times per boot, so its arrays may be allocated.
            int count = 0;
            ulong total = 0;
            foreach (GuestRegion r in memory.Regions)
            {
                count += (int)((r.Size + MaxFixedBuffer - 1) / MaxFixedBuffer);
                total += r.Size;
            }

            if (count == 0 || total > MaxFixedTotal)
            {
                return;
            }

            IoVec[] buffers = new IoVec[count];
            ulong[] starts = new ulong[count];
            ulong[] ends = new ulong[count];
            int i = 0;
            foreach (GuestRegion r in memory.Regions)
            {
                for (ulong at = 0; at < r.Size; at += MaxFixedBuffer, i++)
                {
                    ulong length = Math.Min(MaxFixedBuffer, r.Size - at);
                    starts[i] = r.HostAddress + at;
                    ends[i] = starts[i] + length;
                    buffers[i] = new IoVec((nint)starts[i], (nuint)length);
                }
            }

            _ring.RegisterBuffers(buffers);
            _fixedStarts = starts;
            _fixedEnds = ends;
            _registered = memory;
            Log.UringFixedRegistered(_logger, _queue, count);
        }
        catch (SysException e)
        {
            _fixedRefused = true;
            if (e.Errno == LibC.EOPNOTSUPP)
            {
                // A mapping of a device or a regular file (the loopback's pool is one): io_uring pins
                // only anonymous, shmem and hugetlb memory. Expected; nothing to fix.
                Log.UringFixedUnsupported(_logger, _queue);
            }
            else
            {
                Log.UringFixedRefused(_logger, _queue, e.Message);
            }
        }
    }

    /// <summary>Prepares <paramref name="request"/>'s first operation (submitted by <see cref="SubmitAll"/>).</summary>
    public void Start(BlkRequest request)
    {
        InFlight++;
        if (request.Type == BlkRequestType.Flush)
        {
            _ring.PrepareFsync(_image.Handle, dataOnly: true, (ulong)request.Index);
        }
        else
        {
            PrepareTransfer(request);
        }
    }

    /// <summary>Hands every prepared operation to the kernel.</summary>
    public void SubmitAll()
    {
        while (_ring.Unsubmitted > 0)
        {
            if (_ring.Submit() == 0)
            {
                // EAGAIN: the kernel is short of memory for the moment.
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>Takes the next completion: the slot index and the result.</summary>
    public bool TryReap(out int slot, out int result)
    {
        if (_ring.TryReap(out IoUringCompletion c))
        {
            slot = (int)c.UserData;
            result = c.Result;
            return true;
        }

        slot = result = 0;
        return false;
    }

    /// <summary>Blocks until a completion is there to reap (after submitting what is prepared).</summary>
    public void Wait() => _ring.SubmitAndWait();

    /// <summary>
    /// Applies one operation's <paramref name="result"/> to <paramref name="request"/>. True when the
    /// request is finished (status and used length set); false when a follow-up operation was
    /// prepared (the rest of a short transfer, or a writethrough write's fdatasync).
    /// </summary>
    public bool Complete(BlkRequest request, int result)
    {
        if (result < 0)
        {
            Log.IoFailed(_logger, request.Type, request.Sector, OperationName(request), -result, Errno.Describe(-result));
            return Finish(request, BlkStatus.IoErr, 1);
        }

        if (request.Type == BlkRequestType.Flush || request.Syncing)
        {
            return Finish(request, BlkStatus.Ok, 1);
        }

        if (result == 0)
        {
            Log.ShortIo(_logger, request.Type, request.Sector, request.DataLength - request.Done);
            return Finish(request, BlkStatus.IoErr, 1);
        }

        request.Done += (uint)result;
        if (request.Done < request.DataLength)
        {
            request.FirstIoVec = BlkRequestProcessor.Advance(request.IoVecs, request.FirstIoVec, request.IoVecCount, result);
            PrepareTransfer(request);
            return false;
        }

        if (request.Type == BlkRequestType.Out && request.Writethrough)
        {
            request.Syncing = true;
            _ring.PrepareFsync(_image.Handle, dataOnly: true, (ulong)request.Index);
            return false;
        }

        return Finish(request, BlkStatus.Ok, request.Type == BlkRequestType.In ? request.DataLength + 1 : 1);
    }

    /// <summary>Closes the ring; the engine has reaped every operation.</summary>
    public void Dispose() => _ring.Dispose();

    private static string OperationName(BlkRequest request) => request.Type switch
    {
        BlkRequestType.In => "io_uring read",
        BlkRequestType.Out when !request.Syncing => "io_uring write",
        _ => "io_uring fdatasync",
    };

    private bool Finish(BlkRequest request, BlkStatus status, uint written)
    {
        InFlight--;
        request.Status = status;
        request.Written = written;
        return true;
    }

    private void PrepareTransfer(BlkRequest request)
    {
        bool write = request.Type == BlkRequestType.Out;
        long offset = (long)(request.Sector * BlkImage.SectorSize) + request.Done;
        int first = request.FirstIoVec;
        int count = request.IoVecCount - first;
        FileDescriptor file = _image.HandleFor(request.IoVecs.AsSpan(first, count), offset, out bool firstUnaligned);
        if (firstUnaligned)
        {
            Log.UnalignedDirect(_logger, request.Type, request.Sector);
        }

        if (count == 1 && ReferenceEquals(request.Memory, _registered))
        {
            IoVec v = request.IoVecs[first];
            int index = FixedIndex((ulong)v.Base, (ulong)v.Length);
            if (index >= 0)
            {
                _ring.PrepareFixed(write, file, v.Base, (uint)v.Length, offset, (ushort)index, (ulong)request.Index);
                return;
            }
        }

        _ring.PrepareVectored(write, file, request.IoVecs, first, count, offset, (ulong)request.Index);
    }

    /// <summary>The registered buffer holding [<paramref name="address"/>, +<paramref name="length"/>), or -1.</summary>
    private int FixedIndex(ulong address, ulong length)
    {
        for (int i = 0; i < _fixedStarts.Length; i++)
        {
            if (address >= _fixedStarts[i] && address < _fixedEnds[i] && length <= _fixedEnds[i] - address)
            {
                return i;
            }
        }

        return -1;
    }
}
