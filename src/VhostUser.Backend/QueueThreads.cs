// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// Which thread serves which queue. Queue <c>i</c> is served by loop <c>i mod ThreadCount</c>, so with
/// fewer threads than queues several queues share one; a loop's thread exists only while at least
/// one of its queues is started, and ends when the last one stops.
/// </summary>
/// <remarks>
/// Devices never see this: they get their queues through <see cref="IVirtqueue"/> and register fds
/// through <see cref="IVirtqueue.Events"/>, on whatever thread serves the queue. Control thread only.
/// </remarks>
internal sealed class QueueThreads : IDisposable
{
    private readonly ILogger _logger;
    private readonly EventLoop?[] _loops;
    private readonly int[] _started;
    private readonly int _pollMicroseconds;

    /// <param name="queueCount">The device's queue count.</param>
    /// <param name="maxThreads">The most threads; null: one per queue up to the number of CPUs.</param>
    /// <param name="pollMicroseconds">How long a loop polls after activity before it sleeps.</param>
    /// <param name="logger">For the loops.</param>
    internal QueueThreads(int queueCount, int? maxThreads, int pollMicroseconds, ILogger logger)
    {
        int threads = maxThreads ?? Environment.ProcessorCount;
        ThreadCount = Math.Clamp(threads, 1, queueCount);
        _loops = new EventLoop?[ThreadCount];
        _started = new int[ThreadCount];
        _pollMicroseconds = pollMicroseconds;
        _logger = logger;
    }

    /// <summary>How many threads the queues are spread over at most.</summary>
    internal int ThreadCount { get; }

    /// <summary>How many loop threads run now.</summary>
    internal int Running
    {
        get
        {
            int n = 0;
            foreach (EventLoop? loop in _loops)
            {
                n += loop is null ? 0 : 1;
            }

            return n;
        }
    }

    /// <summary>The loop for queue <paramref name="index"/>, started if it is not running; pair it with <see cref="Release"/>.</summary>
    internal EventLoop Acquire(int index)
    {
        int slot = index % ThreadCount;
        EventLoop loop = _loops[slot] ??= new EventLoop(slot, _pollMicroseconds, _logger);
        _started[slot]++;
        return loop;
    }

    /// <summary>Queue <paramref name="index"/> stopped: its loop ends when it serves no other started queue.</summary>
    internal void Release(int index)
    {
        int slot = index % ThreadCount;
        if (--_started[slot] > 0)
        {
            return;
        }

        _loops[slot]?.Dispose();
        _loops[slot] = null;
    }

    /// <summary>Ends every loop (after every queue has stopped, nothing is left to end).</summary>
    public void Dispose()
    {
        for (int i = 0; i < _loops.Length; i++)
        {
            _loops[i]?.Dispose();
            _loops[i] = null;
            _started[i] = 0;
        }
    }
}
