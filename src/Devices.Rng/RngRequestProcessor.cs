// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Rng;

/// <summary>
/// Serves the entropy device's request queue (virtio 1.2 §5.4): every chain's device-writable
/// buffers are filled with bytes from the source, subject to an optional rate limit.
/// </summary>
/// <remarks>
/// Runs on the queue's worker thread only. Nothing here allocates per request: the chain is the
/// queue's reusable one and buffers are spans straight into guest memory.
/// </remarks>
internal sealed class RngRequestProcessor
{
    private readonly IEntropySource _source;
    private readonly TokenBucket? _limiter;
    private readonly ILogger _logger;
    private bool _sourceFailed;

    public RngRequestProcessor(IEntropySource source, TokenBucket? limiter, ILogger logger)
    {
        _source = source;
        _limiter = limiter;
        _logger = logger;
    }

    /// <summary>
    /// Serves chains until the queue is empty or the rate limit is reached. Returns
    /// <see cref="TimeSpan.Zero"/> when the queue ran empty (kicks are enabled again), or the delay
    /// until the limiter refills (kicks stay suppressed; the caller arms a timer and calls again).
    /// </summary>
    public TimeSpan Process(IVirtqueue queue, DescriptorChain chain)
    {
        GuestMemoryMap memory = queue.Memory;
        bool pushed = false;
        TimeSpan wait = TimeSpan.Zero;
        queue.DisableNotification();
        while (!queue.IsBroken)
        {
            long budget = long.MaxValue;
            if (_limiter is not null)
            {
                budget = _limiter.Available;
                if (budget == 0)
                {
                    wait = _limiter.TimeUntilRefill;
                    if (_logger.IsEnabled(LogLevel.Trace))
                    {
                        Log.Throttled(_logger, wait);
                    }

                    break;
                }
            }

            PopResult result = queue.PopNextInBatch(chain);
            if (result != PopResult.Popped)
            {
                break;
            }

            uint written = FillChain(queue, memory, chain, budget);
            _limiter?.Take(written);
            queue.PushUsed(chain.Head, written);
            pushed = true;
            if (_logger.IsEnabled(LogLevel.Trace))
            {
                Log.Completed(_logger, chain.Head, written);
            }
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }

        return wait;
    }

    /// <summary>Fills the chain's writable buffers in order, up to <paramref name="budget"/> bytes.</summary>
    private uint FillChain(IVirtqueue queue, GuestMemoryMap memory, DescriptorChain chain, long budget)
    {
        ReadOnlySpan<Descriptor> writable = chain.Writable;
        if (writable.IsEmpty)
        {
            // The spec makes requestq buffers device-writable; a chain without one is a driver bug,
            // but a harmless one: complete it empty and keep the queue running.
            Log.NoWritableBuffer(_logger, chain.Head);
            return 0;
        }

        uint written = 0;
        foreach (ref readonly Descriptor d in writable)
        {
            if (budget == 0)
            {
                break;
            }

            uint length = (uint)Math.Min(d.Length, budget);
            if (length == 0)
            {
                continue;
            }

            if (!memory.TryGetSpan(d.Address, length, out Span<byte> buffer))
            {
                // Validation at pop checked this range; only a memory table swapped under us fails.
                queue.MarkBroken("rng: buffer outside guest memory");
                return written;
            }

            int n = _source.Fill(buffer);
            written += (uint)n;
            budget -= n;
            if (n < buffer.Length)
            {
                ReportFailure();
                return written;
            }
        }

        if (_sourceFailed)
        {
            _sourceFailed = false;
            Log.SourceRecovered(_logger);
        }

        return written;
    }

    private void ReportFailure()
    {
        if (_sourceFailed)
        {
            return;
        }

        _sourceFailed = true;
        string reason = _source switch
        {
            GetRandomSource g => g.LastError?.Message ?? "getrandom failed",
            FileEntropySource f => f.LastError?.Message ?? "short read",
            _ => "short read",
        };
        Log.SourceFailed(_logger, reason);
    }
}
