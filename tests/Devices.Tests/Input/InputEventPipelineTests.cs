// SPDX-License-Identifier: MIT
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;

namespace VirtioLoopback.Tests.Input;

[TestFixture]
public sealed class InputEventPipelineTests
{
    private static readonly InputEvent RelX = new(InputEventCodes.EvRel, 0, 5);
    private static readonly InputEvent RelY = new(InputEventCodes.EvRel, 1, -3);
    private static readonly InputEvent Syn = InputEvent.Report;
    private static readonly InputEvent KeyADown = new(InputEventCodes.EvKey, 30, 1);
    private static readonly InputEvent KeyAUp = new(InputEventCodes.EvKey, 30, 0);
    private static readonly InputEvent Dropped = new(InputEventCodes.EvSyn, InputEventCodes.SynDropped, 0);

    private static void Append(InputEventPipeline p, params InputEvent[] events)
    {
        foreach (InputEvent e in events)
        {
            p.Append(e);
        }
    }

    [Test]
    public void WholePacket_WaitsForEnoughBuffers()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 8) { Available = 2 };
        Append(p, RelX, RelY, Syn);

        Assert.That(p.Deliver(sink), Is.Zero, "three events never go into two buffers");
        Assert.That(sink.Got, Is.Empty);

        sink.Available = 3;
        Assert.That(p.Deliver(sink), Is.EqualTo(3));
        Assert.That(sink.Got, Is.EqualTo(new[] { RelX, RelY, Syn }));
    }

    [Test]
    public void UnfinishedPacket_IsHeldUntilItsReport()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 8) { Available = 8 };
        Append(p, RelX, Syn, RelY);
        Assert.That(p.Deliver(sink), Is.EqualTo(2));
        Append(p, Syn);
        Assert.That(p.Deliver(sink), Is.EqualTo(2));
        Assert.That(sink.Got, Is.EqualTo(new[] { RelX, Syn, RelY, Syn }));
    }

    [Test]
    public void SeveralPackets_GoOutInOrder_AsFarAsBuffersAllow()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 8) { Available = 5 };
        Append(p, RelX, Syn, RelX, RelY, Syn, RelY, Syn);
        Assert.That(p.Deliver(sink), Is.EqualTo(5));
        Assert.That(p.Count, Is.EqualTo(2));
        sink.Available = 1;
        Assert.That(p.Deliver(sink), Is.Zero);
        sink.Available = 2;
        Assert.That(p.Deliver(sink), Is.EqualTo(2));
        Assert.That(sink.Got, Is.EqualTo(new[] { RelX, Syn, RelX, RelY, Syn, RelY, Syn }));
    }

    [Test]
    public void PacketLargerThanTheQueue_GoesOutInPieces()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 2) { Available = 2 };
        Append(p, RelX, RelY, RelX, Syn);
        Assert.That(p.Deliver(sink), Is.EqualTo(2));
        sink.Available = 2;
        Assert.That(p.Deliver(sink), Is.EqualTo(2));
        Assert.That(sink.Got, Is.EqualTo(new[] { RelX, RelY, RelX, Syn }));
    }

    [Test]
    public void SynDropped_DiscardsThePacketInFlight_AndAsksForState()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 16) { Available = 16 };
        Append(p, RelX, Syn, RelY);
        Assert.That(p.Append(Dropped), Is.EqualTo(AppendResult.None));
        Assert.That(p.Append(KeyADown), Is.EqualTo(AppendResult.None));
        Assert.That(p.Append(Syn), Is.EqualTo(AppendResult.StateQueryNeeded));

        // The device now holds KEY_A: the state read back is delivered as one packet.
        FakeEvdev device = new();
        device.KeysDown.Add(30);
        p.LoadSourceState(device);
        Append(p, RelY, Syn);
        p.Deliver(sink);
        Assert.That(sink.Got, Is.EqualTo(new[] { RelX, Syn, RelY, Syn, KeyADown, Syn }));
    }

    [Test]
    public void Overflow_DropsOldestWholePackets_ThenRepairsKeyState()
    {
        InputEventPipeline p = new(capacity: 64);
        FakeSink sink = new(capacity: 64);
        int capacity = p.Capacity;
        AppendResult seen = AppendResult.None;

        // Press then release KEY_A, over and over, then press it once more and hold.
        for (int i = 0; i < capacity; i++)
        {
            seen |= p.Append(KeyADown);
            seen |= p.Append(Syn);
            seen |= p.Append(KeyAUp);
            seen |= p.Append(Syn);
        }

        seen |= p.Append(KeyADown);
        seen |= p.Append(Syn);
        Assert.That(seen & AppendResult.Overflowed, Is.EqualTo(AppendResult.Overflowed));
        Assert.That(p.DroppedPackets, Is.GreaterThan(0));
        Assert.That(p.Count, Is.LessThanOrEqualTo(capacity));

        // Everything kept is whole packets; the last event is the final press's report.
        sink.Available = 64;
        while (p.Count > 0)
        {
            sink.Available = 64;
            p.Deliver(sink);
        }

        Assert.That(sink.Got[^2], Is.EqualTo(KeyADown));
        Assert.That(sink.Got[^1], Is.EqualTo(Syn));
        for (int i = 0; i < sink.Got.Count; i += 2)
        {
            Assert.That(sink.Got[i + 1], Is.EqualTo(Syn), "packets stay whole");
        }

        // Driver and device agree (KEY_A down), so no repair packet is needed.
        sink.Available = 64;
        Assert.That(p.Deliver(sink), Is.Zero);
        Assert.That(p.ResyncPending, Is.False);
    }

    [Test]
    public void Overflow_WhoseDroppedPacketsReleasedAKey_SendsTheRelease()
    {
        InputEventPipeline p = new(capacity: 64);
        FakeSink sink = new(capacity: 8) { Available = 8 };
        Append(p, KeyADown, Syn);
        p.Deliver(sink);

        // The driver saw KEY_A go down; then the release is among the dropped packets.
        int capacity = p.Capacity;
        Append(p, KeyAUp, Syn);
        for (int i = 0; i < capacity; i++)
        {
            Append(p, RelX, Syn);
        }

        while (p.Count > 0 || p.ResyncPending)
        {
            sink.Available = 8;
            if (p.Deliver(sink) == 0)
            {
                break;
            }
        }

        Assert.That(sink.Got[^2], Is.EqualTo(KeyAUp), "the repair packet releases the key");
        Assert.That(sink.Got[^1], Is.EqualTo(Syn));
    }

    [Test]
    public void SourceLost_ReleasesHeldKeys()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 8) { Available = 8 };
        Append(p, KeyADown, Syn, RelX);
        p.Deliver(sink);
        p.SourceLost();
        p.Deliver(sink);
        Assert.That(sink.Got, Is.EqualTo(new[] { KeyADown, Syn, KeyAUp, Syn }));
    }

    [Test]
    public void DriverStarted_ForgetsTheBacklog_AndSendsTheCurrentState()
    {
        InputEventPipeline p = new();
        FakeSink sink = new(capacity: 8) { Available = 8 };
        Append(p, RelX, Syn);
        FakeEvdev device = new();
        device.KeysDown.Add(58);
        p.DriverStarted();
        p.LoadSourceState(device);
        p.Deliver(sink);
        Assert.That(sink.Got, Is.EqualTo(new[] { new InputEvent(InputEventCodes.EvKey, 58, 1), Syn }));
    }

    internal sealed class FakeSink(int capacity) : IEventSink
    {
        public int Capacity { get; } = capacity;

        public int Available { get; set; }

        public List<InputEvent> Got { get; } = new();

        public void Write(InputEvent inputEvent)
        {
            Assert.That(Available, Is.GreaterThan(0));
            Available--;
            Got.Add(inputEvent);
        }
    }
}
