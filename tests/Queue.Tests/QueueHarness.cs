// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>A driver queue and a device queue over the same test memory.</summary>
internal sealed class QueueHarness : IDisposable
{
    public QueueHarness(ushort size = 16, bool eventIdx = false, bool indirect = true, bool notifyOnEmpty = false, ushort start = 0, ulong memorySize = 1 << 20)
    {
        Memory = new TestGuestMemory(memorySize);
        Driver = new DriverQueue(Memory, size) { EventIdx = eventIdx };
        if (start != 0)
        {
            Driver.SetIndices(start);
        }

        Queue = new SplitQueue
        {
            Memory = Memory.ToGuestMemoryMap(),
            EventIdx = eventIdx,
            IndirectEnabled = indirect,
            NotifyOnEmpty = notifyOnEmpty,
            NextAvail = start,
        };
        Assert.That(Queue.TryConfigure(size, Driver.DescTable, Driver.AvailRing, Driver.UsedRing, out string? error), Is.True, error);
        Chain = new DescriptorChain(size);
    }

    public TestGuestMemory Memory { get; }

    public DriverQueue Driver { get; }

    public SplitQueue Queue { get; }

    public DescriptorChain Chain { get; }

    /// <summary>Allocates a buffer of <paramref name="length"/> bytes.</summary>
    public ulong Buffer(uint length) => Memory.Alloc(length, 8);

    public PopResult Pop() => Queue.TryPop(Chain);

    /// <summary>Asserts that the queue is broken with a reason containing <paramref name="fragment"/>, and stays so.</summary>
    public void AssertBroken(string fragment)
    {
        Assert.That(Queue.TryPop(Chain), Is.EqualTo(PopResult.Broken));
        Assert.Multiple(() =>
        {
            Assert.That(Queue.IsBroken, Is.True);
            Assert.That(Queue.BrokenReason, Does.Contain(fragment));
            Assert.That(Queue.TryPop(Chain), Is.EqualTo(PopResult.Broken), "stays broken");
            Assert.That(Queue.HasAvailable(), Is.False);
            Assert.That(Queue.NeedsNotification(), Is.False);
        });
        ushort used = Driver.ReadUsedIdx();
        Queue.PushUsed(0, 0);
        Assert.That(Driver.ReadUsedIdx(), Is.EqualTo(used), "a broken queue pushes nothing");
    }

    public void Dispose() => Memory.Dispose();
}
