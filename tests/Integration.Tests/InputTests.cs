// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>virtio-input as the spec describes it (§5.8), independent of Devices.Input's constants.</summary>
internal static class InputWire
{
    public const byte IdName = 0x01;
    public const byte IdSerial = 0x02;
    public const byte IdDevids = 0x03;
    public const byte PropBits = 0x10;
    public const byte EvBits = 0x11;
    public const byte AbsInfo = 0x12;
    public const int ConfigSize = 136;
    public const int UnionOffset = 8;

    public const ushort EvSyn = 0x00;
    public const ushort EvKey = 0x01;
    public const ushort EvRel = 0x02;
    public const ushort EvAbs = 0x03;
    public const ushort EvLed = 0x11;
    public const int EventSize = 8;

    public static InputEvent Syn => new(EvSyn, 0, 0);

    public static byte[] Encode(params InputEvent[] events)
    {
        byte[] bytes = new byte[EventSize * events.Length];
        for (int i = 0; i < events.Length; i++)
        {
            Span<byte> s = bytes.AsSpan(i * EventSize);
            BinaryPrimitives.WriteUInt16LittleEndian(s, events[i].Type);
            BinaryPrimitives.WriteUInt16LittleEndian(s[2..], events[i].Code);
            BinaryPrimitives.WriteInt32LittleEndian(s[4..], events[i].Value);
        }

        return bytes;
    }

    public static InputEvent Decode(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(s),
        BinaryPrimitives.ReadUInt16LittleEndian(s[2..]),
        BinaryPrimitives.ReadInt32LittleEndian(s[4..]));

    /// <summary>The select/subsel query of §5.8.5: write both bytes, read the size and the union.</summary>
    public static byte[] Query(VhostUser.Frontend.VhostUserFrontend f, byte select, byte subsel)
    {
        f.SetConfig(0, [select, subsel]);
        byte[] config = f.GetConfig(0, ConfigSize);
        Assert.That(config[0], Is.EqualTo(select), "select reads back");
        Assert.That(config[1], Is.EqualTo(subsel), "subsel reads back");
        int size = config[2];
        Assert.That(size, Is.LessThanOrEqualTo(128));
        Assert.That(config.AsSpan(UnionOffset + size).ToArray().All(b => b == 0), Is.True, "the union is zero past size");
        return config.AsSpan(UnionOffset, size).ToArray();
    }
}

/// <summary>vhost-user-input served in this process over a fake evdev node.</summary>
[TestFixture]
public sealed class InputTests
{
    private FakeEvdev _fake = null!;
    private FrontendHarness _h = null!;

    [SetUp]
    public void Start()
    {
        _fake = new FakeEvdev();
        InputDevice device = new(new FakeEvdevOpener(_fake));
        HarnessOptions options = new() { QueueSize = 64 };
        _h = FrontendHarness.StartInProcess(device, options with { WantedProtocolFeatures = options.WantedProtocolFeatures | ProtocolFeatures.ConfigureMemSlots });
    }

    [TearDown]
    public void Stop()
    {
        _h.Dispose();
        _fake.Dispose();
    }

    [Test]
    public void ConfigQueriesAnswerWhatTheNodeDeclares()
    {
        VhostUser.Frontend.VhostUserFrontend f = _h.Frontend;
        Assert.That(_h.QueueNum, Is.EqualTo(2ul), "event queue and status queue");
        Assert.That(_h.AckedProtocolFeatures & ProtocolFeatures.Config, Is.Not.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(InputWire.Query(f, InputWire.IdName, 0), Is.EqualTo(Encoding.UTF8.GetBytes(_fake.Name)));
            Assert.That(InputWire.Query(f, InputWire.IdSerial, 0), Is.EqualTo(Encoding.UTF8.GetBytes(_fake.Uniq!)));

            byte[] ids = new byte[8];
            BinaryPrimitives.WriteUInt16LittleEndian(ids, _fake.Ids.BusType);
            BinaryPrimitives.WriteUInt16LittleEndian(ids.AsSpan(2), _fake.Ids.Vendor);
            BinaryPrimitives.WriteUInt16LittleEndian(ids.AsSpan(4), _fake.Ids.Product);
            BinaryPrimitives.WriteUInt16LittleEndian(ids.AsSpan(6), _fake.Ids.Version);
            Assert.That(InputWire.Query(f, InputWire.IdDevids, 0), Is.EqualTo(ids));

            Assert.That(InputWire.Query(f, InputWire.PropBits, 0), Is.EqualTo(Bitmap(_fake.Properties)));
            foreach ((int type, int[] codes) in _fake.Codes)
            {
                Assert.That(InputWire.Query(f, InputWire.EvBits, (byte)type), Is.EqualTo(Bitmap(codes)), $"EV_BITS for type 0x{type:x}");
            }

            Assert.That(InputWire.Query(f, InputWire.EvBits, (byte)InputWire.EvRel), Is.Empty, "a type the node lacks has size 0");
            foreach ((int axis, InputAbsInfo info) in _fake.Axes)
            {
                byte[] abs = new byte[20];
                BinaryPrimitives.WriteInt32LittleEndian(abs, info.Minimum);
                BinaryPrimitives.WriteInt32LittleEndian(abs.AsSpan(4), info.Maximum);
                BinaryPrimitives.WriteInt32LittleEndian(abs.AsSpan(8), info.Fuzz);
                BinaryPrimitives.WriteInt32LittleEndian(abs.AsSpan(12), info.Flat);
                BinaryPrimitives.WriteInt32LittleEndian(abs.AsSpan(16), info.Resolution);
                Assert.That(InputWire.Query(f, InputWire.AbsInfo, (byte)axis), Is.EqualTo(abs), $"ABS_INFO for axis {axis}");
            }

            Assert.That(InputWire.Query(f, InputWire.AbsInfo, 5), Is.Empty, "an axis the node lacks has size 0");
            Assert.That(InputWire.Query(f, 0, 0), Is.Empty, "VIRTIO_INPUT_CFG_UNSET");
            Assert.That(InputWire.Query(f, 0x7f, 3), Is.Empty, "an unknown select");
        });

        // A partial read of just the size byte agrees with the last query.
        f.SetConfig(0, [InputWire.IdName, 0]);
        Assert.That(f.GetConfig(2, 1)[0], Is.EqualTo(Encoding.UTF8.GetByteCount(_fake.Name)));
    }

    [Test]
    public void EventsArriveAsWholeSynBatchesInOrder()
    {
        Dictionary<ushort, ulong> bufferOf = new();
        void Post(int count)
        {
            for (int i = 0; i < count; i++)
            {
                ulong gpa = _h.Alloc(InputWire.EventSize, 8);
                _h.Memory.Fill(gpa, InputWire.EventSize, 0xee);
                bufferOf[_h.Queues[0].Driver.StageChain(DriverBuffer.DeviceWritable(gpa, InputWire.EventSize))] = gpa;
            }

            _h.Queues[0].Driver.Publish();
            _h.Kick(0);
        }

        List<InputEvent> Take(int count) => _h.WaitUsed(0, count).Select(u =>
        {
            Assert.That(u.Length, Is.EqualTo((uint)InputWire.EventSize), "one event per buffer");
            return InputWire.Decode(_h.Memory.ReadBytes(bufferOf[u.Id], InputWire.EventSize));
        }).ToList();

        InputEvent[] touch = [new(InputWire.EvAbs, 0, 100), new(InputWire.EvAbs, 1, 200), new(InputWire.EvKey, 0x14a, 1), InputWire.Syn];

        // Three buffers cannot hold the four-event batch: nothing may be delivered (no torn batch).
        Post(3);
        _h.AssertNoUsed(0);
        _fake.Push(touch);
        _h.AssertNoUsed(0);

        // Room for it now: the whole batch, in order.
        Post(5);
        Assert.That(Take(4), Is.EqualTo(touch));

        // Two more batches fill the four remaining buffers exactly, still in order.
        InputEvent[] move = [new(InputWire.EvAbs, 0, 150), InputWire.Syn];
        InputEvent[] release = [new(InputWire.EvKey, 0x14a, 0), InputWire.Syn];
        _fake.Push(move);
        _fake.Push(release);
        Assert.That(Take(4), Is.EqualTo(move.Concat(release)));

        // Events that come while no buffer is posted wait for buffers and then keep their order.
        InputEvent[] typing = [new(InputWire.EvKey, 30, 1), InputWire.Syn, new(InputWire.EvKey, 30, 0), InputWire.Syn];
        _fake.Push(typing);
        _h.AssertNoUsed(0);
        Post(8);
        Assert.That(Take(4), Is.EqualTo(typing));
        _h.AssertNoUsed(0);
    }

    [Test]
    public void StatusQueueLedWritesReachTheNode()
    {
        InputEvent capsOn = new(InputWire.EvLed, 1, 1);
        InputEvent numOn = new(InputWire.EvLed, 0, 1);
        InputEvent capsOff = new(InputWire.EvLed, 1, 0);

        ulong one = _h.Memory.AllocBytes(InputWire.Encode(capsOn));
        ushort head = _h.Submit(1, DriverBuffer.DeviceReadable(one, InputWire.EventSize));
        Assert.That(_h.WaitUsed(1).Id, Is.EqualTo(head));
        Assert.That(_fake.Written, Is.EqualTo(new[] { capsOn }));

        // Two events in one buffer, and two events split over a chain of three buffers.
        ulong two = _h.Memory.AllocBytes(InputWire.Encode(numOn, capsOff));
        _h.Submit(1, DriverBuffer.DeviceReadable(two, 2 * InputWire.EventSize));
        byte[] split = InputWire.Encode(capsOn, numOn);
        ulong a = _h.Memory.AllocBytes(split.AsSpan(0, 5));
        ulong b = _h.Memory.AllocBytes(split.AsSpan(5, 7));
        ulong c = _h.Memory.AllocBytes(split.AsSpan(12, 4));
        _h.Submit(1, DriverBuffer.DeviceReadable(a, 5), DriverBuffer.DeviceReadable(b, 7), DriverBuffer.DeviceReadable(c, 4));
        _h.WaitUsed(1, 2);
        Assert.That(_fake.Written, Is.EqualTo(new[] { capsOn, numOn, capsOff, capsOn, numOn }));

        // A key event on the status queue is completed but not written to the node.
        ulong key = _h.Memory.AllocBytes(InputWire.Encode(new InputEvent(InputWire.EvKey, 30, 1)));
        _h.Submit(1, DriverBuffer.DeviceReadable(key, InputWire.EventSize));
        _h.WaitUsed(1);
        Assert.That(_fake.Written, Has.Count.EqualTo(5));
    }

    [Test]
    [CancelAfter(120000)]
    public void TenThousandEvents_WhileTheMemoryTableChanges_ArriveExactlyOnceInOrder()
    {
        const int Packets = 5000;
        const int Events = 2 * Packets;
        const int MaxAhead = 512;
        DriverQueue ring = _h.Queues[0].Driver;
        Dictionary<ushort, ulong> bufferOf = new();
        void Post(ulong gpa)
        {
            _h.Memory.Fill(gpa, InputWire.EventSize, 0xee);
            bufferOf[ring.StageChain(DriverBuffer.DeviceWritable(gpa, InputWire.EventSize))] = gpa;
        }

        for (int i = 0; i < _h.Options.QueueSize; i++)
        {
            Post(_h.Alloc(InputWire.EventSize, 8));
        }

        ring.Publish();
        _h.Kick(0);

        // The node produces 5,000 packets of two events (ABS_X = n, SYN_REPORT), never running more
        // than MaxAhead events ahead of what the driver took, so no backlog overflows, and never more
        // than PacketsPerChange packets per memory-table change, so the stream spans many changes
        // however fast the machine is.
        const int PacketsPerChange = 200;
        int received = 0;
        int changes = 0;
        Thread feeder = new(() =>
        {
            for (int n = 1; n <= Packets; n++)
            {
                while (2 * n - Volatile.Read(ref received) > MaxAhead || n / PacketsPerChange > Volatile.Read(ref changes))
                {
                    Thread.Sleep(1);
                }

                _fake.Push(new InputEvent(InputWire.EvAbs, 0, n), InputWire.Syn);
            }
        })
        { IsBackground = true, Name = "evdev-feeder" };

        // Meanwhile the front end keeps changing the memory table: a region comes and goes, and the
        // whole table is sent again with and without it (the ring's region stays throughout).
        using TestGuestMemory extra = new(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        MemoryRegion main = new(_h.Memory.Gpa, _h.Memory.Size, _h.Memory.UserAddr, _h.Memory.MmapOffset);
        MemoryRegion more = new(extra.Gpa, extra.Size, extra.UserAddr, 0);
        bool done = false;
        Exception? changeFailure = null;
        Thread changer = new(() =>
        {
            try
            {
                while (!Volatile.Read(ref done))
                {
                    switch (changes % 4)
                    {
                        case 0: _h.Frontend.AddMemReg(more, extra.Fd); break;
                        case 1: _h.Frontend.RemMemReg(more); break;
                        case 2: _h.Frontend.SetMemTable([(main, _h.Memory.Fd), (more, extra.Fd)]); break;
                        default: _h.Frontend.SetMemTable([(main, _h.Memory.Fd)]); break;
                    }

                    Interlocked.Increment(ref changes);
                    Thread.Sleep(2);
                }
            }
            catch (Exception e)
            {
                changeFailure = e;
            }
        })
        { IsBackground = true, Name = "memory-changer" };

        List<InputEvent> events = new(Events);
        feeder.Start();
        changer.Start();
        Stopwatch clock = Stopwatch.StartNew();
        try
        {
            while (events.Count < Events && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                bool any = false;
                while (ring.TryGetUsed(out ushort id, out uint length))
                {
                    any = true;
                    Assert.That(length, Is.EqualTo((uint)InputWire.EventSize), "one event per buffer");
                    ulong gpa = bufferOf[id];
                    events.Add(InputWire.Decode(_h.Memory.ReadBytes(gpa, InputWire.EventSize)));
                    Volatile.Write(ref received, events.Count);
                    Post(gpa);
                }

                if (any)
                {
                    ring.Publish();
                    _h.Kick(0);
                }
                else if (!ring.EnableInterrupts())
                {
                    _h.WaitCall(0, 50);
                }
            }
        }
        finally
        {
            Volatile.Write(ref done, true);
            changer.Join();
        }

        Assert.That(changeFailure, Is.Null, () => $"a memory table change failed: {changeFailure}");
        TestContext.Out.WriteLine($"{events.Count} events received, {changes} memory table changes meanwhile");
        Assert.That(changes, Is.GreaterThan(20), "the table changed many times during the stream");
        Assert.That(feeder.Join(TimeSpan.FromSeconds(5)), Is.True, "the feeder finished");
        List<InputEvent> expected = new(Events);
        for (int n = 1; n <= Packets; n++)
        {
            expected.Add(new InputEvent(InputWire.EvAbs, 0, n));
            expected.Add(InputWire.Syn);
        }

        int firstDifference = 0;
        while (firstDifference < Math.Min(events.Count, Events) && events[firstDifference].Equals(expected[firstDifference]))
        {
            firstDifference++;
        }

        Assert.That(events, Has.Count.EqualTo(Events), $"events received (first difference at {firstDifference})");
        Assert.That(firstDifference, Is.EqualTo(Events), () => $"event {firstDifference}: got {events[firstDifference]}, expected {expected[firstDifference]}");
    }

    /// <summary>A bitmap with <paramref name="bits"/> set, trimmed after its last non-zero byte.</summary>
    private static byte[] Bitmap(int[] bits)
    {
        if (bits.Length == 0)
        {
            return [];
        }

        byte[] map = new byte[(bits.Max() / 8) + 1];
        foreach (int bit in bits)
        {
            map[bit / 8] |= (byte)(1 << (bit % 8));
        }

        return map;
    }
}
