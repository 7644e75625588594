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
/// The asynchronous request engine of one vring. The vring's worker thread pops chains, parses them
/// into preallocated request slots and hands file I/O to a small pool of I/O threads; finished slots
/// come back through a completion ring and an eventfd registered on the worker, which pushes them to
/// the used ring and notifies the driver once per batch.
/// </summary>
/// <remarks>
/// <para>
/// Threads: <see cref="Process"/>, <see cref="OnCompletions"/> and <see cref="Stop"/> run on the
/// vring's worker thread, which alone touches the vring, the chain and the free-slot stack. The I/O
/// threads touch only the slots handed to them, between the submission and completion rings.
/// </para>
/// <para>
/// Nothing on the request path allocates: slots (one per possible in-flight request, up to
/// <see cref="MaxSlots"/>), their iovec arrays (one entry per descriptor the ring can hold) and both
/// rings are created in the constructor. When every slot is busy the engine stops popping; the next
/// completion resumes it.
/// </para>
/// </remarks>
internal sealed class BlkQueueEngine : IDisposable
{
    /// <summary>The most requests in flight per queue.</summary>
    public const int MaxSlots = 128;

    /// <summary>The epoll token of the completion eventfd on the vring's worker.</summary>
    public const ulong CompletionToken = 0xB1C0;

    private readonly BlkRequestProcessor _processor;
    private readonly Vring _vring;
    private readonly ILogger _logger;
    private readonly DescriptorChain _chain;
    private readonly BlkRequest[] _slots;
    private readonly int[] _free;
    private int _freeCount;
    private int _inFlight;
    private bool _stalled;

    // Submission ring (worker -> I/O threads) and completion ring (I/O threads -> worker). Each holds
    // slot indices; capacity = slot count, so neither can overflow. Guarded by their own locks.
    private readonly object _submitLock = new();
    private readonly int[] _submitRing;
    private int _submitHead;
    private int _submitCount;
    private bool _shutdown;

    private readonly object _completeLock = new();
    private readonly int[] _completeRing;
    private int _completeHead;
    private int _completeCount;

    private readonly EventFd _completionFd;
    private readonly Thread[] _threads;
    private bool _registered;

    public BlkQueueEngine(BlkRequestProcessor processor, Vring vring, int ioThreads, ILogger logger)
    {
        _processor = processor;
        _vring = vring;
        _logger = logger;
        _chain = vring.CreateChain();
        int slots = Math.Min((int)vring.Size, MaxSlots);
        int iovecs = Math.Min((int)vring.Size, FileIo.MaxIoVecs);
        int segments = Math.Max(BlkRequestProcessor.MaxDiscardSegments, BlkRequestProcessor.MaxWriteZeroesSegments);
        _slots = new BlkRequest[slots];
        _free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            _slots[i] = new BlkRequest(i, iovecs, segments);
            _free[i] = slots - 1 - i;
        }

        _freeCount = slots;
        _submitRing = new int[slots];
        _completeRing = new int[slots];
        _completionFd = EventFd.Create();
        _threads = new Thread[Math.Clamp(ioThreads, 0, slots)];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(IoThreadLoop)
            {
                IsBackground = true,
                Name = $"blk-io-q{vring.Index}-{i}",
            };
        }
    }

    /// <summary>Registers the completion eventfd on the worker and starts the I/O threads.</summary>
    public void Start()
    {
        _vring.Worker.AddFd(_completionFd.Handle, CompletionToken);
        _registered = true;
        foreach (Thread t in _threads)
        {
            t.Start();
        }

        Log.QueueStarted(_logger, _vring.Index, _vring.Size, _slots.Length, _threads.Length);
    }

    /// <summary>
    /// Pops and submits available requests until the ring is empty (race-free: notifications are
    /// re-enabled and the ring checked again) or every slot is busy.
    /// </summary>
    public void Process()
    {
        if (_vring.IsBroken || !_vring.IsEnabled)
        {
            return;
        }

        bool pushed = false;
        GuestMemoryMap memory = _vring.Memory;
        while (true)
        {
            _vring.DisableNotification();
            while (_freeCount > 0)
            {
                PopResult result = _vring.TryPop(_chain);
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

            if (!_vring.EnableNotification())
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
        bool pushed = DrainCompletions();
        if (pushed)
        {
            _vring.NotifyIfNeeded();
        }

        if (_stalled && _freeCount > 0)
        {
            _stalled = false;
            Process();
        }
    }

    /// <summary>
    /// Waits for every in-flight request, pushes their results, unregisters the eventfd and ends
    /// the I/O threads.
    /// </summary>
    public void Stop()
    {
        int waited = _inFlight;
        bool pushed = false;
        while (_inFlight > 0)
        {
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
            _vring.NotifyIfNeeded();
        }

        _stalled = false;
        Dispose();
        Log.QueueStopped(_logger, _vring.Index, waited);
    }

    /// <summary>Ends the I/O threads and releases the eventfd (idempotent).</summary>
    public void Dispose()
    {
        lock (_submitLock)
        {
            if (_shutdown)
            {
                return;
            }

            _shutdown = true;
            Monitor.PulseAll(_submitLock);
        }

        foreach (Thread t in _threads)
        {
            if (t.IsAlive)
            {
                t.Join();
            }
        }

        if (_registered)
        {
            _vring.Worker.RemoveFd(_completionFd.Handle);
            _registered = false;
        }

        _completionFd.Dispose();
    }

    /// <summary>
    /// Parses the popped chain into a free slot and either completes it at once or queues it for
    /// the I/O threads. False when the chain had to break the queue.
    /// </summary>
    private bool Submit(GuestMemoryMap memory, ref bool pushed)
    {
        BlkRequest request = _slots[_free[--_freeCount]];
        PrepareOutcome outcome = _processor.Prepare(request, _chain.Head, _chain.Readable, _chain.Writable, memory, out string? reason);
        switch (outcome)
        {
            case PrepareOutcome.Submit when _threads.Length == 0:
                // No I/O threads (an in-memory image): the copy cannot sleep, so the worker does it
                // and the whole batch is notified once, without a hand-off or a wake-up.
                ExecuteGuarded(request);
                PushAndFree(request);
                pushed = true;
                return true;
            case PrepareOutcome.Submit:
                _inFlight++;
                lock (_submitLock)
                {
                    _submitRing[(_submitHead + _submitCount) % _submitRing.Length] = request.Index;
                    _submitCount++;
                    Monitor.Pulse(_submitLock);
                }

                return true;
            case PrepareOutcome.Completed:
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.CompletedImmediately(_logger, _vring.Index, request.Head, request.Status);
                }

                PushAndFree(request);
                pushed = true;
                return true;
            default:
                request.Reset();
                _free[_freeCount++] = request.Index;
                Log.QueueBroken(_logger, _vring.Index, reason!);
                _vring.MarkBroken(reason!);
                return false;
        }
    }

    private void Finish(bool pushed)
    {
        if (pushed)
        {
            _vring.NotifyIfNeeded();
        }
    }

    private void PushAndFree(BlkRequest request)
    {
        ushort head = request.Head;
        uint written = BlkRequestProcessor.Complete(request);
        _free[_freeCount++] = request.Index;
        _vring.PushUsed(head, written);
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

    /// <summary>Runs one request's file I/O; a fault fails that request only (an I/O thread must never die).</summary>
    private void ExecuteGuarded(BlkRequest request)
    {
        try
        {
            _processor.Execute(request);
        }
#pragma warning disable CA1031 // Any fault fails the one request.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.IoThreadFault(_logger, _vring.Index, e);
            request.Status = BlkStatus.IoErr;
            request.Written = 1;
        }
    }

    private void IoThreadLoop()
    {
        while (true)
        {
            int index;
            lock (_submitLock)
            {
                while (_submitCount == 0 && !_shutdown)
                {
                    Monitor.Wait(_submitLock);
                }

                if (_submitCount == 0)
                {
                    return;
                }

                index = _submitRing[_submitHead];
                _submitHead = (_submitHead + 1) % _submitRing.Length;
                _submitCount--;
            }

            ExecuteGuarded(_slots[index]);

            bool wake;
            lock (_completeLock)
            {
                // Only the completion that finds the ring empty needs the eventfd: the worker reads
                // the eventfd before it drains, and drains until the ring is empty, so later ones
                // ride along. At queue depth 32 this saves most of the write(2)s and wake-ups.
                wake = _completeCount == 0;
                _completeRing[(_completeHead + _completeCount) % _completeRing.Length] = index;
                _completeCount++;
                Monitor.Pulse(_completeLock);
            }

            if (wake)
            {
                _completionFd.Signal();
            }
        }
    }
}
