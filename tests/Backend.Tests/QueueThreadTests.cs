// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>
/// How the back end spreads queues over threads, and what a memory-table change does to running
/// queues: nothing they can see, except the new table.
/// </summary>
[TestFixture]
[CancelAfter(30000)]
public sealed class QueueThreadTests
{
    [Test]
    public void ThreadsRunOnlyForStartedQueues()
    {
        using var h = new BackendHarness(queueThreads: 2);
        Assert.That(h.Handler.RunningQueueThreads, Is.Zero, "no thread before a ring starts");
        Assert.That(QueueThreadNames(), Is.Zero);

        var (q0, k0, _) = h.StartRing(0);
        Assert.That(h.Handler.RunningQueueThreads, Is.EqualTo(1));
        var (q1, k1, _) = h.StartRing(1);
        Assert.That(h.Handler.RunningQueueThreads, Is.EqualTo(2));
        Echoes(h, q0, k0);
        Echoes(h, q1, k1);

        h.Frontend.GetVringBase(0);
        Assert.That(h.Handler.RunningQueueThreads, Is.EqualTo(1), "ring 0's thread ends with it");
        Echoes(h, q1, k1);
        h.Frontend.GetVringBase(1);
        Assert.That(h.Handler.RunningQueueThreads, Is.Zero);
        Assert.That(QueueThreadNames(), Is.Zero, "the threads are gone, not parked");
    }

    [Test]
    public void SeveralQueuesShareOneThread()
    {
        var device = new FakeDevice { QueueCount = 4 };
        using var h = new BackendHarness(device, queueThreads: 1);
        var rings = new (DriverQueue Queue, EventFd Kick)[4];
        for (uint i = 0; i < 4; i++)
        {
            var (q, k, _) = h.StartRing(i);
            rings[i] = (q, k);
        }

        Assert.That(h.Handler.QueueThreadCount, Is.EqualTo(1));
        Assert.That(h.Handler.RunningQueueThreads, Is.EqualTo(1));
        Assert.That(QueueThreadNames(), Is.EqualTo(1), "one vhost-queues thread serves all four rings");
        for (int round = 0; round < 3; round++)
        {
            foreach (var (q, k) in rings)
            {
                Echoes(h, q, k, (byte)round);
            }
        }

        // Stopping one ring leaves the thread to the other three.
        h.Frontend.GetVringBase(2);
        Assert.That(h.Handler.RunningQueueThreads, Is.EqualTo(1));
        Echoes(h, rings[3].Queue, rings[3].Kick);
    }

    [Test]
    public void MemoryTableChanges_NeitherStopNorStartTheDevice()
    {
        using var h = new BackendHarness();
        var (queue, kick, _) = h.StartRing(0);
        Echoes(h, queue, kick);
        using var extra = new TestGuestMemory(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        var more = new MemoryRegion(extra.Gpa, extra.Size, extra.UserAddr, 0);
        var main = new MemoryRegion(h.Memory.Gpa, h.Memory.Size, h.Memory.UserAddr, 0);
        h.Frontend.AddMemReg(more, extra.Fd);
        Echoes(h, queue, kick);
        h.Frontend.RemMemReg(more);
        h.Frontend.SetMemTable([(main, h.Memory.Fd), (more, extra.Fd)]);
        h.Frontend.SetMemTable([(main, h.Memory.Fd)]);
        Echoes(h, queue, kick);
        Assert.That(h.Device.CountCalls("start0"), Is.EqualTo(1), "the device was started once");
        Assert.That(h.Device.CountCalls("stop0"), Is.Zero, "and never stopped");
        Assert.That(h.Handler.Vrings[0].Memory.Count, Is.EqualTo(1));
    }

    [Test]
    public void ARemovedRegion_StaysMappedWhileARequestInFlightUsesIt()
    {
        var device = new FakeDevice { Hold = true, LeaseHeld = true };
        using var h = new BackendHarness(device);
        var (queue, kick, call) = h.StartRing(0);
        using var extra = new TestGuestMemory(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        var more = new MemoryRegion(extra.Gpa, extra.Size, extra.UserAddr, 0);
        h.Frontend.AddMemReg(more, extra.Fd);
        Assert.That(h.Handler.MappedRegions, Is.EqualTo(2));

        // A request whose buffer lies in the extra region is popped and held (its I/O "runs").
        ulong buffer = extra.Alloc(64);
        ushort head = queue.AddChain(DriverBuffer.DeviceWritable(buffer, 64));
        kick.Signal();
        Assert.That(Wait.Until(() => device.Popped.Count == 1), Is.True);

        // The front end removes the region: it leaves the table at once, but stays mapped for the request.
        h.Frontend.RemMemReg(more);
        Assert.That(h.Handler.Memory.Count, Is.EqualTo(1));
        Assert.That(h.Handler.MappedRegions, Is.EqualTo(2), "unmapped under a request in flight");

        device.CompleteHeld(0, head, 64);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
        Assert.That(h.Handler.MappedRegions, Is.EqualTo(1), "unmapped once the last request using it completed");
        Assert.That(h.Logs.Has(37), Is.True, "the unmapping is logged");
    }

    [Test]
    public void Polling_ServesKicksWithoutSleeping_AndStopsWhenIdle()
    {
        // Kicks within the window find the loop awake: its thread makes (almost) no voluntary
        // context switch, where a sleeping loop makes one per kick.
        const int Kicks = 50;
        Assert.That(VoluntarySwitchesOverKicks(pollMicroseconds: 0, Kicks), Is.GreaterThanOrEqualTo(Kicks / 2), "without polling a kick wakes the loop");
        using var h = new BackendHarness(pollMicroseconds: 2_000_000);
        var (queue, kick, _) = h.StartRing(0);
        Assert.That(SwitchesOver(h, queue, kick, Kicks), Is.LessThan(Kicks / 5), "a polling loop is awake for the kicks");

        // Once the window has passed with nothing new, the loop sleeps: no CPU time while idle.
        Thread.Sleep(2500);
        long cpu = LoopThreadCpuTicks();
        Thread.Sleep(500);
        Assert.That(LoopThreadCpuTicks() - cpu, Is.LessThanOrEqualTo(1), "an idle loop sleeps");
        Echoes(h, queue, kick);
    }

    private static long VoluntarySwitchesOverKicks(int pollMicroseconds, int kicks)
    {
        using var h = new BackendHarness(pollMicroseconds: pollMicroseconds);
        var (queue, kick, _) = h.StartRing(0);
        return SwitchesOver(h, queue, kick, kicks);
    }

    private static long SwitchesOver(BackendHarness h, DriverQueue queue, EventFd kick, int kicks)
    {
        Echoes(h, queue, kick);
        long before = LoopThreadStatus("voluntary_ctxt_switches:");
        for (int i = 0; i < kicks; i++)
        {
            Echoes(h, queue, kick, (byte)i);
        }

        return LoopThreadStatus("voluntary_ctxt_switches:") - before;
    }

    /// <summary>A field of the single vhost-queues thread's /proc status.</summary>
    private static long LoopThreadStatus(string field)
    {
        foreach (string line in File.ReadAllLines(Path.Combine(LoopThreadDir(), "status")))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no {field} in the loop thread's status");
    }

    /// <summary>The single vhost-queues thread's utime + stime, in clock ticks.</summary>
    private static long LoopThreadCpuTicks()
    {
        string stat = File.ReadAllText(Path.Combine(LoopThreadDir(), "stat"));
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string LoopThreadDir()
    {
        List<string> dirs = QueueThreadDirs();
        Assert.That(dirs, Has.Count.EqualTo(1), "one vhost-queues thread");
        return dirs[0];
    }

    private static void Echoes(BackendHarness h, DriverQueue queue, EventFd kick, byte fill = 0x11)
    {
        ushort head = h.Submit(queue, kick, fill);
        Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out uint length) && id == head && length == 8), Is.True, "the ring echoes");
    }

    /// <summary>This process's threads named like the back end's queue threads.</summary>
    private static int QueueThreadNames() => QueueThreadDirs().Count;

    /// <summary>The /proc/self/task folders of this process's vhost-queues threads.</summary>
    private static List<string> QueueThreadDirs()
    {
        List<string> found = new();
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("vhost-queues", StringComparison.Ordinal))
                {
                    found.Add(task);
                }
            }
            catch (IOException)
            {
            }
        }

        return found;
    }
}
