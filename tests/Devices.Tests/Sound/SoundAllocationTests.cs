// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using NUnit.Framework;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tests.Common;
using VirtioLoopback.Tests.Input;
using VirtioLoopback.Tests.Rng;

namespace VirtioLoopback.Tests.Sound;

/// <summary>The steady state of both data paths allocates nothing: taking, moving and completing periods.</summary>
[TestFixture]
public sealed class SoundAllocationTests
{
    private const int Tx = 2;
    private const int Rx = 3;

    [TestCase(Tx)]
    [TestCase(Rx)]
    public void ThePeriodPath_DoesNotAllocate(int queueIndex)
    {
        using TestGuestMemory guest = new(4 << 20);
        FakeTimeProvider clock = new();
        using MemorySink sink = new(clock) { Record = false };
        using PatternSource source = new(clock);
        using SoundLogic logic = new(sink, source, clock);
        logic.Attach(new FakeScheduler(), FakeHost.Instance);
        using QueueHarness control = new(size: 16, guest: guest) { Index = 0 };
        using QueueHarness data = new(size: 64, guest: guest) { Index = queueIndex };
        logic.QueueStarted(0, control);
        logic.QueueStarted(queueIndex, data);

        // Stream 0 plays S16 stereo 48 kHz, stream 1 captures S16 mono 44.1 kHz: 10 ms periods.
        bool playback = queueIndex == Tx;
        uint stream = playback ? 0u : 1u;
        uint period = playback ? 1920u : 882u;
        Ask(logic, control, [.. Pcm(0x0101, stream), .. Word(period * 4), .. Word(period), .. Word(0), (byte)(playback ? 2 : 1), 5, (byte)(playback ? 7 : 6), 0]);
        Ask(logic, control, Pcm(0x0102, stream));
        Ask(logic, control, Pcm(0x0104, stream));

        // The same three buffers every round: the test's side allocates nothing either.
        DriverBuffer header = data.Readable(Word(stream));
        DriverBuffer frames = playback ? data.Readable(new byte[period]) : data.Writable(period);
        DriverBuffer status = data.Writable(8);
        long allocated = 0;
        for (int round = 0; round < 400; round++)
        {
            ushort head = data.Driver.AddChain(header, frames, status);
            long before = GC.GetAllocatedBytesForCurrentThread();
            logic.ServiceQueue(queueIndex, data);
            clock.Advance(TimeSpan.FromMilliseconds(10));
            logic.ServiceQueue(queueIndex, data);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.That(data.Driver.TryGetUsed(out ushort id, out _), Is.True, $"round {round}: the period completed");
            Assert.That(id, Is.EqualTo(head));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(data.Bytes(status)), Is.EqualTo(0x8000u));
            if (round >= 100)
            {
                allocated += after - before; // after the first chain buffers were made and the path compiled
            }
        }

        Assert.That(allocated, Is.Zero, "bytes allocated over 300 periods");
    }

    private static byte[] Word(uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    private static byte[] Pcm(uint code, uint stream) => [.. Word(code), .. Word(stream)];

    private static void Ask(SoundLogic logic, QueueHarness control, byte[] request)
    {
        DriverBuffer response = control.Writable(4);
        control.Driver.AddChain(control.Readable(request), response);
        logic.ServiceQueue(0, control);
        control.TakeUsed();
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(control.Bytes(response)), Is.EqualTo(0x8000u), Convert.ToHexString(request));
    }
}
