// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests;

/// <summary>
/// Random descriptor tables and avail rings (fixed seeds). The queue must never throw, every chain it
/// pops must lie inside guest memory and match an independent reference walk, and whenever the
/// reference finds a violation the queue must be broken.
/// </summary>
[TestFixture]
public sealed class FuzzTests
{
    private const int MaxSize = 64;
    private const int PoolSize = 16 * 1024;
    private const ulong MemorySize = 64 * 1024;

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(6)]
    [TestCase(7)]
    [TestCase(8)]
    public void RandomRings(int seed)
    {
        Random random = new(seed);
        using TestGuestMemory memory = new(MemorySize);
        ulong desc = memory.Alloc(MaxSize * 16, 16);
        ulong avail = memory.Alloc(6 + (2 * MaxSize), 2);
        ulong used = memory.Alloc(6 + (8 * MaxSize), 4);
        ulong pool = memory.Alloc(PoolSize, 16);
        Fuzzer fuzzer = new(random, memory, desc, avail, pool);
        int popped = 0, broken = 0, empty = 0;

        for (int iteration = 0; iteration < 1500; iteration++)
        {
            ushort size = (ushort)(1 << random.Next(0, 7));
            ushort start = random.Next(4) == 0 ? (ushort)random.Next(65536) : (ushort)(65536 - random.Next(1, 8));
            bool indirect = random.Next(4) != 0;
            fuzzer.Fill(size, start);

            SplitQueue queue = new()
            {
                Memory = memory.ToGuestMemoryMap(),
                IndirectEnabled = indirect,
                EventIdx = random.Next(2) == 0,
                NextAvail = start,
            };
            Assert.That(queue.TryConfigure(size, desc, avail, used, out string? error), Is.True, error);
            DescriptorChain chain = new(size);
            Reference reference = new(memory, desc, avail, size, indirect);
            ushort next = start;

            for (int pop = 0; pop < size + 2; pop++)
            {
                PopResult result = queue.TryPop(chain);
                List<Descriptor>? expected = reference.Pop(next, out bool expectEmpty);
                string context = $"seed {seed} iteration {iteration} pop {pop} size {size}";
                if (expectEmpty)
                {
                    Assert.That(result, Is.EqualTo(PopResult.Empty), context);
                    empty++;
                    break;
                }

                if (expected is null)
                {
                    Assert.That(result, Is.EqualTo(PopResult.Broken), context);
                    Assert.That(queue.BrokenReason, Is.Not.Null.And.Not.Empty);
                    Assert.That(queue.TryPop(chain), Is.EqualTo(PopResult.Broken));
                    broken++;
                    break;
                }

                Assert.That(result, Is.EqualTo(PopResult.Popped), $"{context}: {queue.BrokenReason}");
                Assert.That(chain.All.ToArray(), Is.EqualTo(expected.ToArray()), context);
                CheckChain(queue, chain);
                queue.PushUsed(chain.Head, chain.WritableLength);
                queue.NeedsNotification();
                next++;
                popped++;
            }
        }

        TestContext.Out.WriteLine($"seed {seed}: {popped} popped, {broken} broken, {empty} empty");
        Assert.That(popped, Is.GreaterThan(100), "the generator produces valid chains too");
        Assert.That(broken, Is.GreaterThan(100), "the generator produces invalid chains too");
    }

    [Test]
    public void RandomBytesEverywhere()
    {
        Random random = new(12345);
        using TestGuestMemory memory = new(MemorySize);
        ulong desc = memory.Alloc(MaxSize * 16, 16);
        ulong avail = memory.Alloc(6 + (2 * MaxSize), 2);
        ulong used = memory.Alloc(6 + (8 * MaxSize), 4);
        DescriptorChain chain = new(MaxSize);
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            random.NextBytes(memory.GetSpan(memory.Gpa, (int)memory.Size));
            SplitQueue queue = new() { Memory = memory.ToGuestMemoryMap(), IndirectEnabled = true, NextAvail = (ushort)random.Next(65536) };
            Assert.That(queue.TryConfigure(MaxSize, desc, avail, used, out _), Is.True);
            for (int pop = 0; pop < MaxSize + 1 && queue.TryPop(chain) == PopResult.Popped; pop++)
            {
                CheckChain(queue, chain);
                queue.PushUsed(chain.Head, 0);
            }
        }
    }

    /// <summary>Everything a popped chain names is inside memory and readable/writable end to end.</summary>
    private static void CheckChain(SplitQueue queue, DescriptorChain chain)
    {
        Assert.That(chain.Count, Is.LessThanOrEqualTo(queue.Size));
        Assert.That(chain.Head, Is.LessThan(queue.Size));
        ulong total = 0;
        foreach (Descriptor d in chain.All)
        {
            Assert.That(queue.Memory.ContainsRange(d.Address, d.Length), Is.True);
            total += d.Length;
        }

        Assert.That(total, Is.LessThanOrEqualTo(uint.MaxValue));
        ChainReader reader = new(queue.Memory, chain);
        Span<byte> scratch = stackalloc byte[512];
        while (reader.Read(scratch) > 0)
        {
        }

        Assert.That(reader.Remaining, Is.Zero);
        Assert.That(reader.IsFaulted, Is.False);
        ChainWriter writer = new(queue.Memory, chain);
        while (writer.TryGetNextSpan(512, out Span<byte> piece))
        {
            piece.Clear();
        }

        Assert.That(writer.Written, Is.EqualTo(chain.WritableLength));
    }

    /// <summary>Writes a random descriptor table, pool (with indirect tables) and avail ring.</summary>
    private sealed class Fuzzer(Random random, TestGuestMemory memory, ulong desc, ulong avail, ulong pool)
    {
        public void Fill(ushort size, ushort start)
        {
            random.NextBytes(memory.GetSpan(pool, PoolSize));
            for (int i = 0; i < 24; i++)
            {
                // Indirect tables of random descriptors at 16-byte-aligned spots in the pool.
                int entries = random.Next(1, 9);
                ulong table = pool + ((ulong)random.Next(0, (PoolSize / 16) - entries) * 16);
                for (int e = 0; e < entries; e++)
                {
                    WriteRandomDescriptor(table + ((ulong)e * 16), (ushort)entries, allowIndirect: random.Next(20) == 0);
                }
            }

            for (ushort i = 0; i < size; i++)
            {
                WriteRandomDescriptor(desc + ((ulong)i * 16), size, allowIndirect: true);
            }

            for (int i = 0; i < size; i++)
            {
                ushort head = random.Next(12) == 0 ? (ushort)random.Next(65536) : (ushort)random.Next(size);
                memory.WriteU16(avail + 4 + (2 * (ulong)i), head);
            }

            int ahead = random.Next(20) == 0 ? random.Next(65536) : random.Next(size + 1);
            memory.WriteU16(avail + 2, (ushort)(start + ahead));
        }

        private void WriteRandomDescriptor(ulong at, ushort entries, bool allowIndirect)
        {
            ulong address;
            uint length;
            ushort flags = 0;
            if (random.Next(3) == 0)
            {
                flags |= RingLayout.DescNext;
            }

            if (random.Next(2) == 0)
            {
                flags |= RingLayout.DescWrite;
            }

            if (allowIndirect && random.Next(6) == 0)
            {
                flags |= RingLayout.DescIndirect;
                if (random.Next(4) != 0)
                {
                    flags &= unchecked((ushort)~RingLayout.DescNext);
                }

                address = pool + ((ulong)random.Next(0, PoolSize / 16) * 16);
                length = random.Next(8) == 0 ? (uint)random.Next(0, 200) : (uint)random.Next(1, 9) * 16;
            }
            else
            {
                (address, length) = random.Next(10) switch
                {
                    0 => ((ulong)random.NextInt64(), (uint)random.Next()),
                    1 => (ulong.MaxValue - (ulong)random.Next(0, 100), (uint)random.Next(0, 200)),
                    2 => (memory.Gpa + memory.Size - (ulong)random.Next(0, 64), (uint)random.Next(0, 128)),
                    3 => (memory.Gpa - (ulong)random.Next(1, 64), (uint)random.Next(0, 128)),
                    _ => (pool + (ulong)random.Next(0, PoolSize), (uint)random.Next(0, 600)),
                };
            }

            if (random.Next(30) == 0)
            {
                flags |= (ushort)(random.Next(1, 0x1000) << 3);
            }

            ushort next = random.Next(10) == 0 ? (ushort)random.Next(65536) : (ushort)random.Next(entries);
            memory.WriteU64(at, address);
            memory.WriteU32(at + 8, length);
            memory.WriteU16(at + 12, flags);
            memory.WriteU16(at + 14, next);
        }
    }

    /// <summary>An independent, straightforward reading of the chain rules (§2.7.5, §2.7.13).</summary>
    private sealed class Reference(TestGuestMemory memory, ulong desc, ulong avail, ushort size, bool indirectAllowed)
    {
        /// <summary>The chain at avail entry <paramref name="next"/>; null when the ring is invalid there.</summary>
        public List<Descriptor>? Pop(ushort next, out bool empty)
        {
            ushort idx = memory.ReadU16(avail + 2);
            empty = idx == next;
            if (empty || (ushort)(idx - next) > size)
            {
                return null;
            }

            ushort head = memory.ReadU16(avail + 4 + (2 * (ulong)(next % size)));
            return head < size ? Walk(head) : null;
        }

        private List<Descriptor>? Walk(ushort head)
        {
            List<Descriptor> result = [];
            ulong table = desc;
            int entries = size;
            int index = head;
            bool inIndirect = false;
            ulong total = 0;
            bool sawWritable = false;
            while (true)
            {
                if (index >= entries)
                {
                    return null;
                }

                ulong at = table + ((ulong)index * 16);
                ulong address = memory.ReadU64(at);
                uint length = memory.ReadU32(at + 8);
                ushort flags = memory.ReadU16(at + 12);
                ushort nextIndex = memory.ReadU16(at + 14);
                bool hasNext = (flags & RingLayout.DescNext) != 0;
                bool writable = (flags & RingLayout.DescWrite) != 0;
                if ((flags & RingLayout.DescIndirect) != 0)
                {
                    if (!indirectAllowed || inIndirect || hasNext || length == 0 || length % 16 != 0 || !Inside(address, length))
                    {
                        return null;
                    }

                    inIndirect = true;
                    table = address;
                    entries = (int)(length / 16);
                    index = 0;
                    continue;
                }

                if (result.Count == size || !Inside(address, length) || (sawWritable && !writable))
                {
                    return null;
                }

                total += length;
                if (total > uint.MaxValue)
                {
                    return null;
                }

                sawWritable |= writable;
                result.Add(new Descriptor(address, length, writable));
                if (!hasNext)
                {
                    return result;
                }

                index = nextIndex;
            }
        }

        private bool Inside(ulong address, uint length) =>
            address >= memory.Gpa && address - memory.Gpa < memory.Size && length <= memory.Size - (address - memory.Gpa);
    }
}
