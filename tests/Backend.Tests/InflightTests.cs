// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class InflightTests
{
    [Test]
    public void GetInflightFd_ReturnsAZeroedRegionWithHeaders()
    {
        using var h = new BackendHarness();
        InflightBuffer buffer = h.Frontend.GetInflightFd(2, 128);
        using FileDescriptor fd = buffer.Fd;
        int stride = InflightLayout.QueueRegionSize(128);
        Assert.That(stride % 64, Is.EqualTo(0));
        Assert.That(buffer.MmapSize, Is.EqualTo((ulong)(2 * stride)));
        Assert.That(buffer.MmapOffset, Is.EqualTo(0));
        using MappedMemory map = MappedMemory.Map(fd, 0, buffer.MmapSize, writable: false);
        for (int q = 0; q < 2; q++)
        {
            Span<byte> area = map.GetSpan((ulong)(q * stride), stride);
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(area[8..]), Is.EqualTo(1), "version");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(area[10..]), Is.EqualTo(128), "desc_num");
            Assert.That(area[16..].ToArray(), Is.All.EqualTo(0));
        }
    }

    [Test]
    public void GetInflightFd_ForMoreQueuesThanTheDevice_IsRefused()
    {
        using var h = new BackendHarness();
        Assert.That(() => h.Frontend.GetInflightFd(3, 128), Throws.InstanceOf<VhostUserException>(), "an empty reply: our front end drops such a connection");
    }

    [Test]
    public void SetInflightFd_TooSmall_IsRefused()
    {
        using var h = new BackendHarness();
        InflightBuffer buffer = h.Frontend.GetInflightFd(2, 128);
        using FileDescriptor fd = buffer.Fd;
        Assert.Throws<VhostUserException>(() => h.Frontend.SetInflightFd(fd, 64, 0, 2, 128));
    }

    [Test]
    public void AfterACrash_InflightChainsComeBackFirst_InCounterOrder_AndNextAvailIsReconciled()
    {
        using var memory = new TestGuestMemory();
        var queue = new DriverQueue(memory, 16);
        InflightBuffer inflight;
        ushort[] heads = new ushort[4];

        // First back end: pops 4 chains, completes only the third, then "crashes" (the connection drops).
        var device = new FakeDevice { Hold = true };
        using (var h = new BackendHarness(device, negotiate: false))
        {
            NegotiateWith(h, memory);
            inflight = h.Frontend.GetInflightFd(2, 16);
            h.Frontend.SetInflightFd(inflight.Fd, inflight.MmapSize, inflight.MmapOffset, 2, 16);
            var (_, kick, _) = StartRing(h, queue, 0);
            for (int i = 0; i < 4; i++)
            {
                heads[i] = h.Submit(queue, kick, (byte)i);
            }

            Assert.That(Wait.Until(() => device.Popped.Count == 4), Is.True);
            device.CompleteHeld(0, heads[2], 8);
            Assert.That(queue.ReadUsedIdx(), Is.EqualTo(1));
        }

        // The front end reconnects and, not knowing better, sends the used idx as the base.
        var device2 = new FakeDevice();
        using (var h = new BackendHarness(device2, negotiate: false))
        {
            NegotiateWith(h, memory);
            h.Frontend.SetInflightFd(inflight.Fd, inflight.MmapSize, inflight.MmapOffset, 2, 16);
            var (_, kick, _) = StartRing(h, queue, 1);
            Assert.That(Wait.Until(() => device2.Popped.Count == 3), Is.True);
            Assert.That(device2.Popped, Is.EqualTo(new[] { (0, heads[0]), (0, heads[1]), (0, heads[3]) }));
            Assert.That(h.Logs.Has(67), Is.True);

            // New chains continue after the ones popped before the crash (next avail = 1 + 3 = 4).
            ushort fresh = h.Submit(queue, kick, 9);
            Assert.That(Wait.Until(() => device2.Popped.Count == 4), Is.True);
            Assert.That(device2.Popped[3].Head, Is.EqualTo(fresh));
            Assert.That(h.Frontend.GetVringBase(0), Is.EqualTo(5));
        }

        inflight.Fd.Dispose();
    }

    [Test]
    public void Recover_RepairsABatchTornBetweenTheUsedRingAndTheInflightFlags()
    {
        using FileDescriptor fd = InflightRegion.CreateFile(1, 8, out ulong size);
        using MappedMemory map = MappedMemory.Map(fd, 0, size, writable: true);
        var q = new InflightQueue(map, 0, 8);
        Assert.That(q.Recover(8, 0, out _), Is.Empty);
        q.OnPop(3);
        q.OnPop(5);
        q.OnPop(1);

        // Crash after head 5 reached the used ring (idx 1) but before its flag was cleared.
        q.BeforePush(5);
        var recovered = new InflightQueue(map, 0, 8);
        ushort[]? heads = recovered.Recover(8, 1, out string? problem);
        Assert.That(problem, Is.Null);
        Assert.That(heads, Is.EqualTo(new ushort[] { 3, 1 }), "5 was completed; the rest in counter order");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(map.GetSpan(14, 2)), Is.EqualTo(1), "used_idx repaired");

        // Counters continue above the old ones, so a later crash still orders correctly.
        recovered.OnPop(6);
        ushort[]? again = new InflightQueue(map, 0, 8).Recover(8, 1, out _);
        Assert.That(again, Is.EqualTo(new ushort[] { 3, 1, 6 }));
    }

    [Test]
    public void Recover_WithAHeaderThatDoesNotFit_TurnsTrackingOff()
    {
        using FileDescriptor fd = InflightRegion.CreateFile(1, 8, out ulong size);
        using MappedMemory map = MappedMemory.Map(fd, 0, size, writable: true);
        BinaryPrimitives.WriteUInt16LittleEndian(map.GetSpan(10, 2), 9000);
        Assert.That(new InflightQueue(map, 0, 8).Recover(8, 0, out string? problem), Is.Null);
        Assert.That(problem, Does.Contain("9000"));
    }

    private static void NegotiateWith(BackendHarness h, TestGuestMemory memory)
    {
        h.Frontend.SetProtocolFeatures(h.Frontend.GetProtocolFeatures());
        h.Frontend.SetOwner();
        h.Frontend.SetFeatures(h.Frontend.GetFeatures());
        h.Frontend.SetMemTable(new[] { (new MemoryRegion(memory.Gpa, memory.Size, memory.UserAddr, memory.MmapOffset), memory.Fd) });
    }

    private static (DriverQueue, EventFd, EventFd) StartRing(BackendHarness h, DriverQueue queue, ushort vringBase) =>
        h.StartRing(0, vringBase: vringBase, queue: queue);
}
