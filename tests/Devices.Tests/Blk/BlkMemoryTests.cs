// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests.Blk;

/// <summary>
/// Guest memory as QEMU really hands it over: tables that change while requests are in flight
/// (memory hot-plug, a VM's RAM layout change), and buffers that run from one region into the next.
/// </summary>
[TestFixture]
[CancelAfter(120000)]
public sealed class BlkMemoryTests
{
    private const int Sector = 512;

    [Test]
    public void MemoryTableChanges_WhileRequestsAreInFlight_EveryRequestCompletes_TheQueueKeepsRunning()
    {
        using Rig rig = new(imageBytes: 32 << 20, ioThreads: 4);

        // Writethrough: every write waits for fdatasync, so requests stay in flight long enough.
        rig.Frontend.SetConfig(32, [0]);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 256);
        int startsBefore = rig.Logs.Count("Queue 0 started");

        // More requests than the engine's 128 slots: some wait in the avail ring while others run.
        const int Count = 200;
        byte[][] data = new byte[Count][];
        for (int i = 0; i < Count; i++)
        {
            data[i] = BlkHarness.RandomBytes(16 << 10, seed: 500 + i);
            q.StageIndirectChain(rig.Header(BlkRequestType.Out, (ulong)i * 64), rig.Readable(data[i]), rig.Status());
        }

        q.Publish();
        kick.Signal();
        Assert.That(SpinUntil(() => q.ReadUsedIdx() > 0), Is.True, "the first write completes");

        using TestGuestMemory extra = new(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        MemoryRegion more = new(extra.Gpa, extra.Size, extra.UserAddr, 0);
        ushort usedAtChange = q.ReadUsedIdx();
        rig.Frontend.AddMemReg(more, extra.Fd);
        rig.Frontend.RemMemReg(more);
        rig.Frontend.SetMemTable([(rig.MainRegion, rig.Memory.Fd), (more, extra.Fd)]);
        rig.Frontend.SetMemTable([(rig.MainRegion, rig.Memory.Fd)]);
        TestContext.Out.WriteLine($"{usedAtChange} of {Count} writes done when the memory table changed");
        Assert.That(usedAtChange, Is.LessThan((ushort)Count), "requests were still in flight at the change");

        Dictionary<ushort, uint> used = Rig.WaitUsed(q, Count);
        Assert.That(used.Values, Is.All.EqualTo(1u));
        Assert.That(rig.AllStatusesOk(), Is.True, "every write completed with OK");
        Assert.That(rig.Logs.Count("Queue 0 started"), Is.EqualTo(startsBefore), "a memory change must not restart the queue");

        byte[] file = rig.FileBytes();
        for (int i = 0; i < Count; i++)
        {
            Assert.That(SHA256.HashData(file.AsSpan(i * 64 * Sector, data[i].Length)), Is.EqualTo(SHA256.HashData(data[i])), $"write {i}");
        }
    }

    [Test]
    public void BuffersSpanningTwoAdjacentRegions_AreReadAndWritten()
    {
        const ulong Split = 8 << 20;
        using Rig rig = new(imageBytes: 1 << 20, splitAt: Split);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 16);
        ulong boundary = rig.Memory.Gpa + Split;

        // The data buffer starts 3000 bytes before the boundary and ends 5192 bytes after it.
        byte[] data = BlkHarness.RandomBytes(8192, seed: 77);
        rig.Memory.Alloc(boundary - 3000 - (rig.Memory.Gpa + rig.Memory.Allocated), 1);
        ulong buffer = rig.Memory.AllocBytes(data, 1);
        Assert.That(buffer, Is.EqualTo(boundary - 3000));
        DriverBuffer header = rig.Header(BlkRequestType.Out, 40);
        ushort write = q.AddChain(header, DriverBuffer.DeviceReadable(buffer, (uint)data.Length), rig.Status());
        kick.Signal();
        Dictionary<ushort, uint> used = Rig.WaitUsed(q, 1);
        Assert.That(used[write], Is.EqualTo(1u));
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(rig.FileBytes().AsSpan(40 * Sector, data.Length).ToArray(), Is.EqualTo(data));

        // Read it back into the same spanning buffer, after wiping it.
        rig.Memory.Fill(buffer, data.Length, 0xCC);
        ushort read = q.AddChain(rig.Header(BlkRequestType.In, 40), DriverBuffer.DeviceWritable(buffer, (uint)data.Length), rig.Status());
        kick.Signal();
        used = Rig.WaitUsed(q, 1);
        Assert.That(used[read], Is.EqualTo((uint)data.Length + 1));
        Assert.That(rig.Memory.ReadBytes(buffer, data.Length), Is.EqualTo(data));
        Assert.That(rig.Handler.Vrings[0].IsBroken, Is.False);
    }

    [Test]
    public void AHeaderSpanningTwoAdjacentRegions_IsParsed()
    {
        const ulong Split = 8 << 20;
        using Rig rig = new(imageBytes: 1 << 20, splitAt: Split);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 16);
        ulong boundary = rig.Memory.Gpa + Split;

        // 8 bytes of the 16-byte header on each side of the boundary.
        rig.Memory.Alloc(boundary - 8 - (rig.Memory.Gpa + rig.Memory.Allocated), 1);
        byte[] raw = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(raw, (uint)BlkRequestType.Out);
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(8), 9);
        DriverBuffer header = DriverBuffer.DeviceReadable(rig.Memory.AllocBytes(raw, 1), 16);
        Assert.That(header.Gpa, Is.EqualTo(boundary - 8));
        byte[] data = BlkHarness.RandomBytes(Sector, seed: 78);
        ushort head = q.AddChain(header, rig.Readable(data), rig.Status());
        kick.Signal();
        Assert.That(Rig.WaitUsed(q, 1)[head], Is.EqualTo(1u));
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(rig.FileBytes().AsSpan(9 * Sector, Sector).ToArray(), Is.EqualTo(data));
    }

    private static bool SpinUntil(Func<bool> condition)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                return false;
            }

            Thread.SpinWait(50);
        }

        return true;
    }
}
