// SPDX-License-Identifier: MIT
using System;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// The asynchronous request engine of one queue. The queue's thread pops chains, parses them into
/// preallocated request slots and hands file I/O to the queue's io_uring (<see cref="BlkUring"/>:
/// reads, writes and flushes, one submission per batch) or to the device's I/O threads
/// (<see cref="BlkIoPool"/>: everything else, or everything without io_uring); finished slots come
/// back through the ring's completions or a completion ring of the threads', both signalled on one
/// eventfd registered on the queue's thread, which pushes them to the used ring and notifies the
/// driver once per batch.
/// </summary>
/// <remarks>
/// <para>
/// Threads: <see cref="Process"/>, <see cref="OnCompletions"/> and <see cref="Stop"/> run on the
/// queue's thread, which alone touches the queue, the chain and the free-slot stack. The I/O
/// threads touch only the slots handed to them, between the submission and completion rings.
/// </para>
/// <para>
/// Memory: a request handed to an I/O thread holds a lease on the memory map it was parsed with, so
/// a memory-table change while it runs neither stops the queue nor unmaps its buffers; the lease
/// goes when the request is pushed.
/// </para>
/// <para>
/// Nothing on the request path allocates: slots (one per possible in-flight request, up to
/// <see cref="MaxSlots"/>), their iovec arrays (one entry per buffer piece a chain can hold) and the
/// completion ring are created in the constructor. When every slot is busy the engine stops
/// popping; the next completion resumes it.
/// </para>
/// </remarks>
internal sealed class BlkQueueEngine : IDisposable
{
    /// <summary>The most requests in flight per queue.</summary>
    public const int MaxSlots = 128;

    /// <summary>The token of the completion eventfd among the queue's events.</summary>
    public const ulong CompletionToken = 0xB1C0;

    private readonly BlkRequestProcessor _processor;
    private readonly IVirtqueue _queue;
    private readonly BlkIoPool? _pool;
    private readonly BlkUring? _uring;
    private readonly ILogger _logger;
    private readonly DescriptorChain _chain;
    private readonly BlkRequest[] _slots;
    private readonly int[] _free;
    private int _freeCount;
    private int _inFlight;
    private bool _stalled;

    // Completion ring (I/O threads -> queue thread) of slot indices; capacity = slot count, so it
    // cannot overflow.
    private readonly object _completeLock = new();
    private readonly int[] _completeRing;
    private int _completeHead;
    private int _completeCount;

    private readonly EventFd _completionFd;
    private bool _registered;

    /// <param name="processor">The request logic.</param>
    /// <param name="queue">The queue served.</param>
    /// <param name="pool">The device's I/O threads; null to do the I/O on the queue's thread (an in-memory image).</param>
    /// <param name="useUring">Whether to give the queue an io_uring (it falls back to <paramref name="pool"/>, logged, if the kernel refuses).</param>
    /// <param name="logger">Where to log.</param>
    public BlkQueueEngine(BlkRequestProcessor processor, IVirtqueue queue, BlkIoPool? pool, bool useUring, ILogger logger)
    {
        _processor = processor;
        _queue = queue;
        _pool = pool;
        _logger = logger;
        _chain = queue.CreateChain();
        int slots = Math.Min((int)queue.Size, MaxSlots);
        int iovecs = Math.Min(_chain.MaxPieces, FileIo.MaxIoVecs);
        int segments = Math.Max(BlkRequestProcessor.MaxDiscardSegments, BlkRequestProcessor.MaxWriteZeroesSegments);
        _slots = new BlkRequest[slots];
        _free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            _slots[i] = new BlkRequest(i, iovecs, segments, this);
            _free[i] = slots - 1 - i;
        }

        _freeCount = slots;
        _completeRing = new int[slots];
        _completionFd = EventFd.Create();
        if (useUring)
        {
            _uring = BlkUring.TryCreate(slots, processor.Image, _completionFd, queue.Index, logger);
        }
    }

    /// <summary>The index of the queue served (for logs).</summary>
    public int QueueIndex => _queue.Index;

    /// <summary>Registers the completion eventfd on the queue's thread.</summary>
    public void Start()
    {
        _queue.Events.Add(_completionFd.Handle, CompletionToken);
        _registered = true;
        Log.QueueStarted(_logger, _queue.Index, _queue.Size, _slots.Length, _pool?.ThreadCount ?? 0, _uring is not null);
    }

    /// <summary>
    /// Pops and submits available requests until the ring is empty (race-free: notifications are
    /// re-enabled and the ring checked again) or every slot is busy.
    /// </summary>
    public void Process()
    {
        if (_queue.IsBroken || !_queue.IsEnabled)
        {
            return;
        }

        bool pushed = false;
        GuestMemoryMap memory = _queue.Memory;
        while (true)
        {
            _queue.DisableNotification();
            while (_freeCount > 0)
            {
                PopResult result = _queue.TryPop(_chain);
                if (result == PopResult.Empty)
                {
                    break;
                }

                if (result == PopResult.Broken || !Submit(memory, ref pushed))
                {
                    Finish(pushed);
                    return;
                }
            }

            if (_freeCount == 0)
            {
                // Leave the rest in the avail ring; the next completion frees a slot and resumes.
                _stalled = true;
                break;
            }

            if (!_queue.EnableNotification())
            {
                break;
            }
        }

        Finish(pushed);
    }

    /// <summary>The completion eventfd fired: push finished requests, notify once, resume a stalled ring.</summary>
    public void OnCompletions()
    {
        _completionFd.TryRead(out _);
        bool pushed = DrainCompletions() | ReapUring();
        if (pushed)
        {
            _queue.NotifyIfNeeded();
        }

        if (_stalled && _freeCount > 0)
        {
            _stalled = false;
            Process();
        }
    }

    /// <summary>
    /// Waits for every in-flight request, pushes their results (returning their memory leases) and
    /// unregisters the eventfd.
    /// </summary>
    public void Stop()
    {
        int waited = _inFlight;
        bool pushed = false;
        while (_inFlight > 0)
        {
            if (_uring is { InFlight: > 0 })
            {
                _uring.Wait();
                pushed |= ReapUring();
                continue;
            }

            lock (_completeLock)
            {
                while (_completeCount == 0)
                {
                    Monitor.Wait(_completeLock);
                }
            }

            pushed |= DrainCompletions();
        }

        if (pushed)
        {
            _queue.NotifyIfNeeded();
        }

        _stalled = false;
        if (_registered)
        {
            _queue.Events.Remove(_completionFd.Handle);
            _registered = false;
        }

        Log.QueueStopped(_logger, _queue.Index, waited);
    }

    /// <summary>An I/O thread finished <paramref name="request"/>: queue it for the queue's thread.</summary>
    public void Completed(BlkRequest request)
    {
        lock (_completeLock)
        {
            // Only the completion that finds the ring empty needs the eventfd: the queue's thread
            // reads the eventfd before it drains, and drains until the ring is empty, so later ones
            // ride along. At queue depth 32 this saves most of the write(2)s and wake-ups. The
            // signal is sent under the lock: once Stop has drained the last completion, no I/O
            // thread touches this engine (or its eventfd) again.
            if (_completeCount == 0)
            {
                _completionFd.Signal();
            }

            _completeRing[(_completeHead + _completeCount) % _completeRing.Length] = request.Index;
            _completeCount++;
            Monitor.Pulse(_completeLock);
        }
    }

    /// <summary>Releases the ring and the eventfd (after <see cref="Stop"/>).</summary>
    public void Dispose()
    {
        _uring?.Dispose();
        _completionFd.Dispose();
    }

    /// <summary>
    /// Parses the popped chain into a free slot and either completes it at once or hands it to the
    /// I/O threads. False when the chain had to break the queue.
    /// </summary>
    private bool Submit(GuestMemoryMap memory, ref bool pushed)
    {
        BlkRequest request = _slots[_free[--_freeCount]];
        PrepareOutcome outcome = _processor.Prepare(request, _chain.Head, _chain.Readable, _chain.Writable, memory, out string? reason);
        switch (outcome)
        {
            case PrepareOutcome.Submit when _uring is not null && BlkUring.Serves(request):
                // The request outlives this callback: keep its memory mapped until it is pushed.
                memory.AddLease();
                request.Leased = true;
                _inFlight++;
                _uring.UseMemory(memory);
                _uring.Start(request);
                return true;
            case PrepareOutcome.Submit when _pool is null:
                // No I/O threads (an in-memory image): the copy cannot sleep, so this thread does it
                // and the whole batch is notified once, without a hand-off or a wake-up.
                BlkIoPool.ExecuteGuarded(_processor, request, _logger);
                PushAndFree(request);
                pushed = true;
                return true;
            case PrepareOutcome.Submit:
                // The request outlives this callback: keep its memory mapped until it is pushed.
                memory.AddLease();
                request.Leased = true;
                _inFlight++;
                _pool.Submit(request);
                return true;
            case PrepareOutcome.Completed:
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.CompletedImmediately(_logger, _queue.Index, request.Head, request.Status);
                }

                PushAndFree(request);
                pushed = true;
                return true;
            default:
                request.Reset();
                _free[_freeCount++] = request.Index;
                Log.QueueBroken(_logger, _queue.Index, reason!);
                _queue.MarkBroken(reason!);
                return false;
        }
    }

    private void Finish(bool pushed)
    {
        // The batch's ring entries, in one io_uring_enter.
        _uring?.SubmitAll();
        if (pushed)
        {
            _queue.NotifyIfNeeded();
        }
    }

    private void PushAndFree(BlkRequest request)
    {
        ushort head = request.Head;
        GuestMemoryMap? leased = request.Leased ? request.Memory : null;
        uint written = BlkRequestProcessor.Complete(request);
        request.Leased = false;
        _free[_freeCount++] = request.Index;
        _queue.PushUsed(head, written);
        leased?.ReleaseLease();
    }

    /// <summary>
    /// Applies every io_uring completion: finished requests are pushed, follow-ups (the rest of a
    /// short transfer, a writethrough fdatasync) submitted. True when any was pushed.
    /// </summary>
    private bool ReapUring()
    {
        if (_uring is null)
        {
            return false;
        }

        bool pushed = false;
        while (_uring.TryReap(out int slot, out int result))
        {
            if ((uint)slot >= (uint)_slots.Length)
            {
                continue;
            }

            BlkRequest request = _slots[slot];
            if (_uring.Complete(request, result))
            {
                _inFlight--;
                PushAndFree(request);
                pushed = true;
            }
        }

        _uring.SubmitAll();
        return pushed;
    }

    /// <summary>Pushes every finished request to the used ring; true when any was pushed.</summary>
    private bool DrainCompletions()
    {
        bool pushed = false;
        while (true)
        {
            int index;
            lock (_completeLock)
            {
                if (_completeCount == 0)
                {
                    return pushed;
                }

                index = _completeRing[_completeHead];
                _completeHead = (_completeHead + 1) % _completeRing.Length;
                _completeCount--;
            }

            _inFlight--;
            PushAndFree(_slots[index]);
            pushed = true;
        }
    }
}
