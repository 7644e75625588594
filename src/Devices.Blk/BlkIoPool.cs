// SPDX-License-Identifier: MIT
using System;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// The device's I/O threads, shared by all its queues: they run the blocking <c>preadv</c>,
/// <c>pwritev</c>, <c>fdatasync</c> and <c>fallocate</c> calls of requests the queues' engines hand
/// them, and give each request back to its own engine. How many there are depends on the disk (as
/// many requests as there are threads are in the kernel at once), not on the queue count.
/// </summary>
/// <remarks>
/// The submission ring holds request references and is sized at creation for every slot of every
/// queue, so it never grows: nothing here allocates per request.
/// </remarks>
internal sealed class BlkIoPool : IDisposable
{
    private readonly BlkRequestProcessor _processor;
    private readonly ILogger _logger;
    private readonly Thread[] _threads;

    // The submission ring: engines enqueue on their queues' threads, I/O threads dequeue.
    private readonly object _lock = new();
    private readonly BlkRequest?[] _ring;
    private int _head;
    private int _count;
    private bool _shutdown;

    public BlkIoPool(BlkRequestProcessor processor, int threads, int capacity, ILogger logger)
    {
        _processor = processor;
        _logger = logger;
        _ring = new BlkRequest?[capacity];
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"blk-io{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>The number of I/O threads.</summary>
    public int ThreadCount => _threads.Length;

    /// <summary>Queues <paramref name="request"/> for an I/O thread (its engine gets it back when done).</summary>
    public void Submit(BlkRequest request)
    {
        lock (_lock)
        {
            _ring[(_head + _count) % _ring.Length] = request;
            _count++;
            Monitor.Pulse(_lock);
        }
    }

    /// <summary>Ends the threads after the requests already queued (the engines have drained theirs).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _shutdown = true;
            Monitor.PulseAll(_lock);
        }

        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }

    /// <summary>Runs one request's file I/O; a fault fails that request only (an I/O thread must never die).</summary>
    internal static void ExecuteGuarded(BlkRequestProcessor processor, BlkRequest request, ILogger logger)
    {
        try
        {
            processor.Execute(request);
        }
#pragma warning disable CA1031 // Any fault fails the one request.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.IoThreadFault(logger, request.Engine.QueueIndex, e);
            request.Status = BlkStatus.IoErr;
            request.Written = 1;
        }
    }

    private void Run()
    {
        while (true)
        {
            BlkRequest request;
            lock (_lock)
            {
                while (_count == 0 && !_shutdown)
                {
                    Monitor.Wait(_lock);
                }

                if (_count == 0)
                {
                    return;
                }

                request = _ring[_head]!;
                _ring[_head] = null;
                _head = (_head + 1) % _ring.Length;
                _count--;
            }

            ExecuteGuarded(_processor, request, _logger);
            request.Engine.Completed(request);
        }
    }
}
