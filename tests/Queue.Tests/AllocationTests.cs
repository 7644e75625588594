// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>The per-request path (pop, read, write, push, notify) must not allocate.</summary>
[TestFixture]
public sealed class AllocationTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void HotPathDoesNotAllocate(bool eventIdx)
    {
        using QueueHarness h = new(size: 8, eventIdx: eventIdx);
        ulong header = h.Memory.AllocBytes(new byte[16]);
        ulong data = h.Buffer(512);
        ulong status = h.Buffer(1);
        ulong table = h.Memory.Alloc(3 * 16, 16);
        h.Driver.WriteRawDescriptor(table, header, 16, RingLayout.DescNext, 1);
        h.Driver.WriteRawDescriptor(table + 16, data, 512, RingLayout.DescNext | RingLayout.DescWrite, 2);
        h.Driver.WriteRawDescriptor(table + 32, status, 1, RingLayout.DescWrite, 0);
        h.Driver.WriteDescriptor(0, header, 16, RingLayout.DescNext, 1);
        h.Driver.WriteDescriptor(1, data, 512, RingLayout.DescNext | RingLayout.DescWrite, 2);
        h.Driver.WriteDescriptor(2, status, 1, RingLayout.DescWrite, 0);
        h.Driver.WriteDescriptor(3, table, 48, RingLayout.DescIndirect, 0);

        Round(h, 200);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Round(h, 2000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);
    }

    private static void Round(QueueHarness h, int count)
    {
        Span<byte> header = stackalloc byte[16];
        for (int i = 0; i < count; i++)
        {
            h.Driver.StageHead((ushort)((i & 1) == 0 ? 0 : 3));
            h.Driver.Publish();
            h.Queue.DisableNotification();
            if (h.Queue.TryPop(h.Chain) != PopResult.Popped)
            {
                Assert.Fail(h.Queue.BrokenReason ?? "empty");
            }

            ChainReader reader = new(h.Queue.Memory, h.Chain);
            reader.TryReadExact(header);
            ChainWriter writer = new(h.Queue.Memory, h.Chain);
            writer.TrySkip(h.Chain.WritableLength - 1);
            writer.TryWriteByte(0);
            h.Queue.PushUsed(h.Chain.Head, writer.Written);
            h.Queue.NeedsNotification();
            h.Queue.EnableNotification();
            h.Queue.TryPop(h.Chain);
            h.Driver.SetUsedEvent(h.Queue.NextUsed);
        }
    }
}
