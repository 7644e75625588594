// SPDX-License-Identifier: MIT
using System;
using System.Linq;
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class ChainReaderWriterTests
{
    [Test]
    public void ReaderCrossesDescriptorBoundaries()
    {
        using QueueHarness h = new();
        byte[] data = Enumerable.Range(0, 40).Select(i => (byte)i).ToArray();
        ulong a = h.Memory.AllocBytes(data.AsSpan(0, 3));
        ulong b = h.Memory.AllocBytes(data.AsSpan(3, 13));
        ulong c = h.Memory.AllocBytes(data.AsSpan(16, 24));
        h.Driver.AddChain(
            DriverBuffer.DeviceReadable(a, 3),
            DriverBuffer.DeviceReadable(b, 13),
            DriverBuffer.DeviceReadable(c, 24),
            DriverBuffer.DeviceWritable(h.Buffer(8), 8));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));

        ChainReader reader = new(h.Queue.Memory, h.Chain);
        Span<byte> header = stackalloc byte[16];
        Assert.That(reader.TryReadExact(header), Is.True);
        Assert.That(header.ToArray(), Is.EqualTo(data[..16]));
        Assert.That(reader.TrySkip(4), Is.True);
        Assert.That(reader.Remaining, Is.EqualTo(20));

        Assert.That(reader.TryReadExact(new byte[21]), Is.False, "too long: nothing read");
        Assert.That(reader.Position, Is.EqualTo(20));
        Assert.That(reader.TryGetNextSpan(100, out ReadOnlySpan<byte> piece), Is.True);
        Assert.That(piece.ToArray(), Is.EqualTo(data[20..40]));
        Assert.That(reader.Remaining, Is.Zero);
        Assert.That(reader.Read(new byte[4]), Is.Zero);
        Assert.That(reader.TrySkip(1), Is.False);
        Assert.That(reader.IsFaulted, Is.False);
    }

    [Test]
    public void WriterCrossesDescriptorBoundariesAndCountsWrittenBytes()
    {
        using QueueHarness h = new();
        ulong w1 = h.Buffer(5), w2 = h.Buffer(1), w3 = h.Buffer(10);
        h.Driver.AddIndirectChain(
            DriverBuffer.DeviceReadable(h.Buffer(16), 16),
            DriverBuffer.DeviceWritable(w1, 5),
            DriverBuffer.DeviceWritable(w2, 1),
            DriverBuffer.DeviceWritable(w3, 10));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));

        ChainWriter writer = new(h.Queue.Memory, h.Chain);
        Assert.That(writer.Write([1, 2, 3, 4, 5, 6, 7]), Is.EqualTo(7));
        Assert.That(writer.TrySkip(8), Is.True);
        Assert.That(writer.TryWriteByte(0xEE), Is.True, "a status byte at the very end");
        Assert.That(writer.TryWriteByte(0xFF), Is.False);
        Assert.That(writer.Write([9, 9]), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(writer.Written, Is.EqualTo(16));
            Assert.That(h.Memory.ReadBytes(w1, 5), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5 }));
            Assert.That(h.Memory.ReadBytes(w2, 1), Is.EqualTo(new byte[] { 6 }));
            Assert.That(h.Memory.ReadBytes(w3, 10), Is.EqualTo(new byte[] { 7, 0, 0, 0, 0, 0, 0, 0, 0, 0xEE }));
        });
    }

    [Test]
    public void ZeroLengthDescriptorsAreSkipped()
    {
        using QueueHarness h = new();
        ulong a = h.Memory.AllocBytes([0xA1]);
        ulong b = h.Memory.AllocBytes([0xB2]);
        h.Driver.AddChain(DriverBuffer.DeviceReadable(a, 0), DriverBuffer.DeviceReadable(a, 1), DriverBuffer.DeviceReadable(b, 0), DriverBuffer.DeviceReadable(b, 1));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        ChainReader reader = new(h.Queue.Memory, h.Chain);
        byte[] two = new byte[2];
        Assert.That(reader.TryReadExact(two), Is.True);
        Assert.That(two, Is.EqualTo(new byte[] { 0xA1, 0xB2 }));
    }

    [Test]
    public void MemoryRemovedUnderneathFaults()
    {
        using QueueHarness h = new();
        h.Driver.AddChain(DriverBuffer.DeviceWritable(h.Buffer(8), 8));
        Assert.That(h.Pop(), Is.EqualTo(PopResult.Popped));
        ChainWriter writer = new(VirtioLoopback.GuestMemory.GuestMemoryMap.Empty, h.Chain);
        Assert.That(writer.Write([1, 2]), Is.Zero);
        Assert.That(writer.IsFaulted, Is.True);
    }

    [Test]
    public void DefaultReaderIsEmpty()
    {
        ChainReader reader = default;
        ChainWriter writer = default;
        Assert.Multiple(() =>
        {
            Assert.That(reader.Remaining, Is.Zero);
            Assert.That(reader.Read(new byte[1]), Is.Zero);
            Assert.That(writer.Write([1]), Is.Zero);
            Assert.That(writer.TrySkip(0), Is.False);
        });
    }
}
