// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>
/// Guest memory in two regions that touch (QEMU splits RAM like that around holes, DIMMs and
/// virtio-mem blocks): a buffer or an indirect table that runs from one into the other is valid
/// guest memory. The chain holds one piece per region, in order; a gap between regions still breaks
/// the queue.
/// </summary>
[TestFixture]
public sealed class RegionSpanningTests
{
    // The test memory (1 MiB) goes to the queue as two regions meeting half-way.
    private const ulong Half = 512 << 10;

    [Test]
    public void ABufferAcrossTheBoundary_IsSplitAtIt()
    {
        using QueueHarness h = new();
        using SplitMemory split = new(h.Memory, Half);
        h.Queue.Memory = split.Map;
        ulong boundary = h.Memory.Gpa + Half;
        ulong before = h.Buffer(16);
        h.Memory.Alloc(boundary - 1000 - (h.Memory.Gpa + h.Memory.Allocated), 1);
        ulong across = h.Memory.Alloc(3000, 1);
        Assert.That(across, Is.EqualTo(boundary - 1000));
        byte[] payload = new byte[3000];
        new Random(3).NextBytes(payload);
        h.Memory.WriteBytes(across, payload);
        ushort head = h.Driver.AddChain(DriverBuffer.DeviceReadable(before, 16), DriverBuffer.DeviceReadable(across, 3000), DriverBuffer.DeviceWritable(across, 3000));

        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped), h.Queue.BrokenReason);
        DescriptorChain c = h.Chain;
        Assert.Multiple(() =>
        {
            Assert.That(c.Head, Is.EqualTo(head));
            Assert.That(c.Readable.ToArray(), Is.EqualTo(new[]
            {
                new Descriptor(before, 16, false),
                new Descriptor(across, 1000, false),
                new Descriptor(boundary, 2000, false),
            }));
            Assert.That(c.Writable.ToArray(), Is.EqualTo(new[] { new Descriptor(across, 1000, true), new Descriptor(boundary, 2000, true) }));
            Assert.That(c.ReadableLength, Is.EqualTo(3016u));
            Assert.That(c.WritableLength, Is.EqualTo(3000u));
        });

        // Readers see one stream across the pieces.
        ChainReader reader = new(split.Map, c);
        Assert.That(reader.TrySkip(16), Is.True);
        byte[] read = new byte[3000];
        Assert.That(reader.TryReadExact(read), Is.True);
        Assert.That(read, Is.EqualTo(payload));
    }

    [Test]
    public void AnIndirectTableAcrossTheBoundary_IsFollowed()
    {
        using QueueHarness h = new();
        using SplitMemory split = new(h.Memory, Half);
        h.Queue.Memory = split.Map;
        ulong boundary = h.Memory.Gpa + Half;
        ulong a = h.Buffer(64);
        ulong b = h.Buffer(64);

        // Four entries: two below the boundary, two above.
        h.Memory.Alloc(boundary - 32 - (h.Memory.Gpa + h.Memory.Allocated), 1);
        ulong table = h.Memory.Alloc(64, 1);
        Assert.That(table, Is.EqualTo(boundary - 32));
        h.Driver.WriteRawDescriptor(table, a, 10, 1, 1);
        h.Driver.WriteRawDescriptor(table + 16, a + 10, 20, 1, 2);
        h.Driver.WriteRawDescriptor(table + 32, b, 30, 1 | 2, 3);
        h.Driver.WriteRawDescriptor(table + 48, b + 30, 5, 2, 0);
        h.Driver.WriteDescriptor(0, table, 64, 4 /* INDIRECT */, 0);
        h.Driver.StageHead(0);
        h.Driver.Publish();

        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped), h.Queue.BrokenReason);
        Assert.That(h.Chain.IsIndirect, Is.True);
        Assert.That(h.Chain.All.ToArray(), Is.EqualTo(new[]
        {
            new Descriptor(a, 10, false),
            new Descriptor(a + 10, 20, false),
            new Descriptor(b, 30, true),
            new Descriptor(b + 30, 5, true),
        }));
    }

    [Test]
    public void ABufferIntoAGap_StillBreaksTheQueue()
    {
        using QueueHarness h = new();

        // Regions [0, Half) and [Half + 4096, 1 MiB): the page in between is no guest memory.
        using SplitMemory split = new(h.Memory, Half, gap: 4096);
        h.Queue.Memory = split.Map;
        ulong boundary = h.Memory.Gpa + Half;
        h.Memory.Alloc(boundary - 100 - (h.Memory.Gpa + h.Memory.Allocated), 1);
        ulong across = h.Memory.Alloc(200, 1);
        h.Driver.AddChain(DriverBuffer.DeviceWritable(across, 200));
        h.AssertBroken("guest memory");
    }

    [Test]
    public void ChainsWithSplitBuffers_FitTheChainOfTheQueueSize()
    {
        // Every descriptor of a full-size chain crosses the boundary: twice the pieces of a
        // queue-size chain. The device's chain (created for the queue size) must still hold them.
        const ushort Size = 8;
        using QueueHarness h = new(size: Size);
        using SplitMemory split = new(h.Memory, Half);
        h.Queue.Memory = split.Map;
        ulong boundary = h.Memory.Gpa + Half;
        h.Memory.Alloc(boundary - 64 - (h.Memory.Gpa + h.Memory.Allocated), 1);
        ulong across = h.Memory.Alloc(128, 1);
        DriverBuffer[] buffers = new DriverBuffer[Size];
        for (int i = 0; i < Size; i++)
        {
            buffers[i] = DriverBuffer.DeviceWritable(across, 128);
        }

        h.Driver.AddChain(buffers);
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped), h.Queue.BrokenReason);
        Assert.That(h.Chain.Count, Is.EqualTo(2 * Size));
        Assert.That(h.Chain.WritableLength, Is.EqualTo(128u * Size));
    }

    /// <summary>The harness's memory mapped a second time as two regions meeting (or with a gap) at <c>half</c>.</summary>
    private sealed class SplitMemory : IDisposable
    {
        private readonly MappedMemory _mapping;

        public SplitMemory(TestGuestMemory memory, ulong half, ulong gap = 0)
        {
            _mapping = MappedMemory.Map(memory.Fd, 0, memory.Size, writable: true);
            GuestRegion low = GuestRegion.FromMapping(_mapping, 0, memory.Gpa, half, memory.UserAddr, ownsMapping: false);
            GuestRegion high = GuestRegion.FromMapping(_mapping, half + gap, memory.Gpa + half + gap, memory.Size - half - gap, memory.UserAddr + half + gap, ownsMapping: false);
            Map = GuestMemoryMap.Create([low, high]);
        }

        public GuestMemoryMap Map { get; }

        public void Dispose() => _mapping.Dispose();
    }
}
