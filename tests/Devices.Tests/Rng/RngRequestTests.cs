// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using VirtioLoopback.Devices.Rng;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tests.Input;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests.Rng;

[TestFixture]
public sealed class RngRequestTests
{
    [Test]
    public void FillsEveryWritableBufferOfAChain()
    {
        using QueueHarness q = new();
        DriverBuffer[] buffers = [q.Writable(16), q.Writable(100), q.Writable(7)];
        ushort head = q.Driver.AddChain(buffers);
        using CountingSource source = new();
        RngRequestProcessor p = new(source, null, NullLogger.Instance);

        Assert.That(p.Process(q, q.Chain), Is.EqualTo(TimeSpan.Zero));

        Assert.That(q.TakeUsed(), Is.EqualTo(new[] { (head, 123u) }));
        byte expected = 0;
        foreach (DriverBuffer b in buffers)
        {
            foreach (byte x in q.Bytes(b))
            {
                Assert.That(x, Is.EqualTo(expected++));
            }
        }

        Assert.That(q.Notifications, Is.EqualTo(1));
    }

    [Test]
    public void GetRandomBytes_AreNotConstant()
    {
        using QueueHarness q = new();
        DriverBuffer a = q.Writable(64, 0);
        DriverBuffer b = q.Writable(64, 0);
        q.Driver.AddChain(a, b);
        using GetRandomSource source = new();
        new RngRequestProcessor(source, null, NullLogger.Instance).Process(q, q.Chain);

        Assert.That(q.TakeUsed()[0].Length, Is.EqualTo(128u));
        Assert.That(q.Bytes(a).ToArray(), Is.Not.EqualTo(q.Bytes(b).ToArray()));
        Assert.That(q.Bytes(a).IndexOfAnyExcept(q.Bytes(a)[0]), Is.GreaterThan(0));
    }

    [Test]
    public void ReadableBuffersAreLeftAlone_AndAChainWithoutWritableCompletesEmpty()
    {
        using QueueHarness q = new();
        DriverBuffer readable = q.Readable([9, 9, 9, 9]);
        DriverBuffer writable = q.Writable(8);
        ushort first = q.Driver.AddChain(readable, writable);
        ushort second = q.Driver.AddChain(q.Readable([1, 2, 3]));
        ushort third = q.Driver.AddChain(q.Writable(4));
        using CountingSource source = new();

        new RngRequestProcessor(source, null, NullLogger.Instance).Process(q, q.Chain);

        Assert.That(q.TakeUsed(), Is.EqualTo(new[] { (first, 8u), (second, 0u), (third, 4u) }));
        Assert.That(q.Bytes(readable).ToArray(), Is.EqualTo(new byte[] { 9, 9, 9, 9 }));
        Assert.That(q.IsBroken, Is.False);
    }

    [Test]
    public void RateLimit_CapsBytesPerPeriod_ThenResumes()
    {
        using QueueHarness q = new();
        ushort a = q.Driver.AddChain(q.Writable(64));
        ushort b = q.Driver.AddChain(q.Writable(64));
        ushort c = q.Driver.AddChain(q.Writable(64));
        FakeTimeProvider clock = new();
        TokenBucket bucket = new(100, TimeSpan.FromMilliseconds(1000), clock);
        using CountingSource source = new();
        RngRequestProcessor p = new(source, bucket, NullLogger.Instance);

        TimeSpan wait = p.Process(q, q.Chain);

        // 64 + 36 (a partial fill) = 100 bytes; the third chain stays in the ring.
        Assert.That(wait, Is.EqualTo(TimeSpan.FromMilliseconds(1000)));
        Assert.That(q.TakeUsed(), Is.EqualTo(new[] { (a, 64u), (b, 36u) }));
        Assert.That(q.Queue.NextAvail, Is.EqualTo((ushort)2));

        clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.That(p.Process(q, q.Chain), Is.EqualTo(TimeSpan.FromMilliseconds(600)));
        Assert.That(q.TakeUsed(), Is.Empty);

        clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.That(p.Process(q, q.Chain), Is.EqualTo(TimeSpan.Zero));
        Assert.That(q.TakeUsed(), Is.EqualTo(new[] { (c, 64u) }));
        Assert.That(source.Produced, Is.EqualTo(164));
    }

    [Test]
    public void FailingSource_CompletesWithWhatItGave()
    {
        using QueueHarness q = new();
        ushort head = q.Driver.AddChain(q.Writable(10), q.Writable(10));
        using CountingSource source = new() { Limit = 13 };
        new RngRequestProcessor(source, null, NullLogger.Instance).Process(q, q.Chain);
        Assert.That(q.TakeUsed(), Is.EqualTo(new[] { (head, 13u) }));
    }

    [Test]
    public void Device_Identity()
    {
        using RngDevice d = new(new CountingSource());
        Assert.That(d.DeviceId, Is.EqualTo(4u));
        Assert.That(d.QueueCount, Is.EqualTo(1));
        Assert.That(d.ConfigSize, Is.Zero);
        Assert.That(d.DeviceFeatures, Is.EqualTo(VirtioFeatures.Version1));
        Assert.That(d.MaxQueueSize, Is.GreaterThanOrEqualTo((ushort)64));
    }

    /// <summary>Gives 0, 1, 2, ... so tests can check which byte went where; fails after <see cref="Limit"/> bytes.</summary>
    private sealed class CountingSource : IEntropySource
    {
        public long Limit { get; init; } = long.MaxValue;

        public long Produced { get; private set; }

        public int Fill(Span<byte> destination)
        {
            int n = (int)Math.Min(destination.Length, Limit - Produced);
            for (int i = 0; i < n; i++)
            {
                destination[i] = (byte)Produced++;
            }

            return n;
        }

        public void Dispose()
        {
        }
    }
}
