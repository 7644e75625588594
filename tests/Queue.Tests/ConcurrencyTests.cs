// SPDX-License-Identifier: MIT
using System;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>
/// A driver thread and a device thread share one ring with notification suppression on both sides.
/// Semaphores stand in for the kick and call eventfds. A wait that times out while work is pending
/// means a lost notification, i.e. a missing barrier or a wrong suppression decision.
/// </summary>
[TestFixture]
public sealed class ConcurrencyTests
{
    private const int Requests = 20000;
    private static readonly TimeSpan LostWakeup = TimeSpan.FromSeconds(2);

    [TestCase(false, (ushort)16)]
    [TestCase(true, (ushort)16)]
    [TestCase(true, (ushort)1)]
    [TestCase(false, (ushort)2)]
    public void DriverAndDeviceThreadsNeverLoseANotification(bool eventIdx, ushort size)
    {
        using QueueHarness h = new(size: size, eventIdx: eventIdx, start: 65000);
        using SemaphoreSlim kick = new(0);
        using SemaphoreSlim call = new(0);
        ulong[] buffers = new ulong[size];
        for (int i = 0; i < size; i++)
        {
            buffers[i] = h.Buffer(8);
        }

        string? deviceError = null;
        int processed = 0;
        bool stop = false;
        Thread device = new(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop))
                {
                    if (!kick.Wait(LostWakeup) && !Volatile.Read(ref stop) && h.Queue.HasAvailable())
                    {
                        deviceError = "lost kick: buffers available but no kick";
                        return;
                    }

                    do
                    {
                        h.Queue.DisableNotification();
                        while (h.Queue.TryPop(h.Chain) == PopResult.Popped)
                        {
                            ChainWriter writer = new(h.Queue.Memory, h.Chain);
                            writer.TryWriteExact(BitConverter.GetBytes((ulong)h.Chain.Head));
                            h.Queue.PushUsed(h.Chain.Head, writer.Written);
                            processed++;
                            if (h.Queue.NeedsNotification())
                            {
                                call.Release();
                            }
                        }
                    }
                    while (h.Queue.EnableNotification());

                    if (h.Queue.IsBroken)
                    {
                        deviceError = h.Queue.BrokenReason;
                        return;
                    }
                }
            }
            catch (Exception e)
            {
                deviceError = e.ToString();
            }
        })
        { IsBackground = true, Name = "device" };
        device.Start();

        int sent = 0, completed = 0;
        try
        {
            while (completed < Requests && deviceError is null)
            {
                while (sent < Requests && h.Driver.FreeDescriptors > 0)
                {
                    ushort head = h.Driver.AddChain(DriverBuffer.DeviceWritable(buffers[h.Driver.FreeDescriptors - 1], 8));
                    sent++;
                    if (h.Driver.KickNeeded())
                    {
                        kick.Release();
                    }

                    _ = head;
                }

                h.Driver.DisableInterrupts();
                bool reaped = false;
                while (h.Driver.TryGetUsed(out ushort id, out uint length))
                {
                    Assert.That(length, Is.EqualTo(8));
                    Assert.That(id, Is.LessThan(size));
                    completed++;
                    reaped = true;
                }

                if (reaped || completed == Requests || h.Driver.EnableInterrupts())
                {
                    continue;
                }

                if (!call.Wait(LostWakeup) && h.Driver.ReadUsedIdx() != h.Driver.LastUsedIdx)
                {
                    Assert.Fail($"lost used-buffer notification after {completed} completions");
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            kick.Release();
            device.Join();
        }

        Assert.Multiple(() =>
        {
            Assert.That(deviceError, Is.Null);
            Assert.That(completed, Is.EqualTo(Requests));
            Assert.That(processed, Is.EqualTo(Requests));
            Assert.That(h.Queue.NextAvail, Is.EqualTo(unchecked((ushort)(65000 + Requests))));
        });
    }
}
