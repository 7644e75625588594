// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using VirtioLoopback.Devices.Gpio;
using VirtioLoopback.Devices.Gpio.Host;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tests.Common;
using VirtioLoopback.Tests.Input;
using static VirtioLoopback.Tests.Gpio.GpioMessages;

namespace VirtioLoopback.Tests.Gpio;

/// <summary>
/// The GPIO device driven as a (possibly hostile) driver would, in front of a fake host chip whose
/// lines 1 to 3 it exposes (as <c>--lines 1-3</c> does): requests, and interrupts on the event queue.
/// </summary>
[TestFixture]
public sealed class GpioDeviceTests
{
    private const int Requests = 0;
    private const int Events = 1;
    private const byte Ok = 0;
    private const byte Err = 1;
    private const byte Invalid = 0;
    private const byte Valid = 1;
    private const ushort GetLineNames = 1;
    private const ushort GetDirection = 2;
    private const ushort SetDirection = 3;
    private const ushort GetValue = 4;
    private const ushort SetValue = 5;
    private const ushort SetIrqType = 6;
    private const uint DirectionOut = 1;
    private const uint DirectionIn = 2;
    private const uint EdgeBoth = 3;
    private const uint EdgeRising = 1;
    private const uint LevelHigh = 4;

    private TestGuestMemory _guest = null!;
    private FakeGpioChip _chip = null!;
    private GpioLogic _logic = null!;
    private QueueHarness _requests = null!;
    private QueueHarness _events = null!;
    private uint _seqno;

    [SetUp]
    public void Create()
    {
        _chip = new FakeGpioChip("host-0", "led", "button", "");
        _logic = GpioLogic.Create(_chip, [1, 2, 3]);
        _logic.Attach(new FakeScheduler(), FakeHost.Instance);
        _logic.OnFeaturesAcked(_logic.DeviceFeatures);
        _guest = new TestGuestMemory(1 << 20);
        _requests = new QueueHarness(size: 64, guest: _guest) { Index = Requests };
        _events = new QueueHarness(size: 64, guest: _guest) { Index = Events };
        _logic.QueueStarted(Requests, _requests);
        _logic.QueueStarted(Events, _events);
    }

    [TearDown]
    public void Dispose()
    {
        _logic.Dispose();
        _chip.Dispose();
        _requests.Dispose();
        _events.Dispose();
        _guest.Dispose();
    }

    [Test]
    public void Config_AndLineNames_DescribeTheExposedLines()
    {
        byte[] config = new byte[8];
        _logic.ReadConfig(0, config);
        byte[] names = Encoding.ASCII.GetBytes("led\0button\0\0");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(config), Is.EqualTo(3), "ngpio");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(4)), Is.EqualTo((uint)names.Length), "gpio_names_size");

        DriverBuffer response = _requests.Writable((uint)names.Length + 1);
        ushort head = _requests.Driver.AddChain(_requests.Readable(Request(GetLineNames, 0, 0)), response);
        _logic.ServiceQueue(Requests, _requests);
        Assert.That(_requests.TakeUsed(), Is.EqualTo(new[] { (head, (uint)names.Length + 1) }));
        Assert.That(_requests.Bytes(response)[0], Is.EqualTo(Ok));
        Assert.That(_requests.Bytes(response)[1..].ToArray(), Is.EqualTo(names), "names in line order, an unnamed line empty");
    }

    [Test]
    public void MalformedRequests_GetErr_AndChangeNothing()
    {
        (byte[] Request, uint Room, byte Status, uint Written)[] cases =
        [
            (Request(GetValue, 0, 0)[..6], 2, Err, 2),                 // shorter than a request
            (Request(0, 0, 0), 2, Err, 2),                             // type 0
            (Request(7, 0, 0), 2, Err, 2),                             // beyond SET_IRQ_TYPE
            (Request(0xffff, 0, 0), 2, Err, 2),
            (Request(GetValue, 3, 0), 2, Err, 2),                      // line == ngpio
            (Request(SetValue, 0xffff, 1), 2, Err, 2),
            (Request(SetDirection, 0, 3), 2, Err, 2),                  // no such direction
            (Request(SetDirection, 0, uint.MaxValue), 2, Err, 2),
            (Request(SetValue, 0, 2), 2, Err, 2),                      // a level is 0 or 1
            (Request(SetIrqType, 1, 5), 2, Err, 2),                    // no such trigger
            (Request(SetIrqType, 1, 0x80), 2, Err, 2),
            (Request(GetLineNames, 0, 0), 4, Err, 1),                  // no room for the names: the status alone
            (Request(GetValue, 0, 0), 1, Ok, 1),                       // room for the status alone
        ];
        foreach ((byte[] request, uint room, byte status, uint written) in cases)
        {
            DriverBuffer response = _requests.Writable(room);
            ushort head = _requests.Driver.AddChain(_requests.Readable(request), response);
            _logic.ServiceQueue(Requests, _requests);
            Assert.That(_requests.TakeUsed(), Is.EqualTo(new[] { (head, written) }), Convert.ToHexString(request));
            Assert.That(_requests.Bytes(response)[0], Is.EqualTo(status), Convert.ToHexString(request));
        }

        // No writable byte at all: the chain goes back with nothing written.
        ushort bare = _requests.Driver.AddChain(_requests.Readable(Request(SetValue, 0, 7)));
        _logic.ServiceQueue(Requests, _requests);
        Assert.That(_requests.TakeUsed(), Is.EqualTo(new[] { (bare, 0u) }));
        Assert.That(_requests.IsBroken, Is.False, "malformed requests break nothing");
        Assert.That(_chip.Held, Is.All.Null, "no host line was touched");

        // An interrupt type on an output line, and one before the feature is acknowledged.
        Assert.That(Ask(SetDirection, 0, DirectionOut), Is.EqualTo((Ok, 0)));
        Assert.That(Ask(SetIrqType, 0, EdgeBoth), Is.EqualTo((Err, 0)), "an output has no interrupt");
        _logic.OnFeaturesAcked(0);
        Assert.That(Ask(SetIrqType, 1, EdgeBoth), Is.EqualTo((Err, 0)), "VIRTIO_GPIO_F_IRQ not negotiated");
        Assert.That(_chip.Held[2], Is.Null);
    }

    [Test]
    public void RequestOutsideGuestMemory_BreaksTheRequestQueueOnly()
    {
        ushort head = _requests.Driver.AddChain(DriverBuffer.DeviceReadable(0xdead_0000, 8), _requests.Writable(2));
        _logic.ServiceQueue(Requests, _requests);
        Assert.That(_requests.IsBroken, Is.True);
        Assert.That(_requests.TakeUsed(), Is.Empty, $"chain {head} is not completed");
        Assert.That(_events.IsBroken, Is.False);
    }

    [Test]
    public void Directions_Values_AndAHostRefusal()
    {
        Assert.That(Ask(GetDirection, 1, 0), Is.EqualTo((Ok, (byte)DirectionIn)), "unconfigured: the host's direction");
        _chip.Levels[2] = true;
        Assert.That(Ask(GetValue, 1, 0), Is.EqualTo((Ok, (byte)1)), "guest line 1 is host line 2");
        Assert.That(_chip.Held[2], Is.Null, "an unconfigured line is read without keeping it");

        // The spec's order for an output: the value first, then the direction.
        Assert.That(Ask(SetValue, 0, 1), Is.EqualTo((Ok, 0)));
        Assert.That(_chip.Held[1], Is.Null, "no direction yet: the level waits");
        Assert.That(Ask(SetDirection, 0, DirectionOut), Is.EqualTo((Ok, 0)));
        Assert.That(_chip.Held[1]!.Settings, Is.EqualTo(new LineSettings(HostDirection.Output, true, false)), "requested driving the level");
        Assert.That(Ask(SetValue, 0, 0), Is.EqualTo((Ok, 0)));
        Assert.That(_chip.Held[1]!.Driven, Is.False);
        Assert.That(Ask(GetDirection, 0, 0), Is.EqualTo((Ok, (byte)DirectionOut)));

        Assert.That(Ask(SetDirection, 0, 0), Is.EqualTo((Ok, 0)));
        Assert.That(_chip.Held[1], Is.Null, "direction none releases the host line");

        _chip.BusyLine = 3;
        Assert.That(Ask(SetDirection, 2, DirectionIn), Is.EqualTo((Err, 0)), "a host line held elsewhere");
        _chip.BusyLine = null;
        Assert.That(Ask(SetDirection, 2, DirectionIn), Is.EqualTo((Ok, 0)), "and free again");
    }

    [Test]
    public void EdgeInterrupt_FiresOncePerUnmask_AndLatchesWhileMasked()
    {
        Assert.That(Ask(SetDirection, 1, DirectionIn), Is.EqualTo((Ok, 0)));
        Assert.That(Ask(SetIrqType, 1, EdgeBoth), Is.EqualTo((Ok, 0)));
        Assert.That(_chip.Held[2]!.Settings.Edges, Is.True, "the host reports edges");

        (ushort first, DriverBuffer firstStatus) = Unmask(1);
        Assert.That(_events.TakeUsed(), Is.Empty, "held until the line fires");
        Edge(1, rising: true);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (first, 1u) }));
        Assert.That(_events.Bytes(firstStatus)[0], Is.EqualTo(Valid));

        // Masked (the buffer is with the driver): two edges latch one interrupt, delivered at the unmask.
        Edge(1, rising: false);
        Edge(1, rising: true);
        Assert.That(_events.TakeUsed(), Is.Empty);
        (ushort second, DriverBuffer secondStatus) = Unmask(1);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (second, 1u) }), "the latched edge fires at once");
        Assert.That(_events.Bytes(secondStatus)[0], Is.EqualTo(Valid));
        (ushort third, _) = Unmask(1);
        Assert.That(_events.TakeUsed(), Is.Empty, "one latch, not one per edge");

        // Disabling the interrupt sends the held buffer back INVALID.
        Assert.That(Ask(SetIrqType, 1, 0), Is.EqualTo((Ok, 0)));
        _logic.ServiceQueue(Events, _events);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (third, 1u) }));
    }

    [Test]
    public void RisingOnly_IgnoresFallingEdges()
    {
        Ask(SetDirection, 1, DirectionIn);
        Ask(SetIrqType, 1, EdgeRising);
        (ushort head, _) = Unmask(1);
        Edge(1, rising: false);
        Assert.That(_events.TakeUsed(), Is.Empty);
        Edge(1, rising: true);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (head, 1u) }));
    }

    [Test]
    public void LevelInterrupt_FiresWhileTheLevelHolds_AtEachUnmask()
    {
        Ask(SetDirection, 2, DirectionIn);
        Ask(SetIrqType, 2, LevelHigh);
        (ushort first, _) = Unmask(2);
        Assert.That(_events.TakeUsed(), Is.Empty, "low: nothing");
        _chip.Levels[3] = true;
        Edge(2, rising: true);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (first, 1u) }));
        (ushort second, _) = Unmask(2);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (second, 1u) }), "still high: fires again at the unmask");
        _chip.Levels[3] = false;
        (ushort third, _) = Unmask(2);
        Assert.That(_events.TakeUsed(), Is.Empty, "a level that went away does not fire");
        _logic.QueueStopped(Events, _events);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (third, 1u) }), "a stopping queue gets its held buffer back");
    }

    [Test]
    public void MalformedEventBuffers_ComeBackInvalid_AndBreakNothing()
    {
        Ask(SetDirection, 1, DirectionIn);
        Ask(SetIrqType, 1, EdgeBoth);
        (ushort held, _) = Unmask(1);
        (ushort Head, DriverBuffer? Status, uint Written)[] sent =
        [
            Raw(_events.Readable([1]), _events.Writable(1)),            // one request byte
            Raw(_events.Readable(IrqRequest(3)), _events.Writable(1)),        // line == ngpio
            Raw(_events.Readable(IrqRequest(0xffff)), _events.Writable(1)),
            Raw(_events.Readable(IrqRequest(1)), _events.Writable(1)),        // a second buffer for line 1
            Raw(_events.Readable(IrqRequest(0)), _events.Writable(1)),        // line 0 has no interrupt enabled
            Raw(_events.Readable(IrqRequest(2)), null),                       // no room for the status
        ];
        _logic.ServiceQueue(Events, _events);
        (ushort, uint)[] used = _events.TakeUsed();
        Assert.That(used, Has.Length.EqualTo(sent.Length), "every malformed buffer comes back at once");
        for (int i = 0; i < sent.Length; i++)
        {
            Assert.That(used[i], Is.EqualTo((sent[i].Head, sent[i].Written)), $"buffer {i}");
            if (sent[i].Status is { } status)
            {
                Assert.That(_events.Bytes(status)[0], Is.EqualTo(Invalid), $"buffer {i}");
            }
        }

        Assert.That(_events.IsBroken, Is.False);
        Edge(1, rising: true);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (held, 1u) }), "the good buffer still fires");
    }

    [Test]
    public void EventBufferOutsideGuestMemory_BreaksTheEventQueueOnly()
    {
        _events.Driver.AddChain(DriverBuffer.DeviceReadable(0xdead_0000, 2), _events.Writable(1));
        _logic.ServiceQueue(Events, _events);
        Assert.That(_events.IsBroken, Is.True);
        Assert.That(Ask(GetValue, 0, 0).Status, Is.EqualTo(Ok), "requests still served");
    }

    [Test]
    public void FailingEdgeRead_StopsThatInterrupt_AndLeavesTheRest()
    {
        Ask(SetDirection, 0, DirectionIn);
        Ask(SetIrqType, 0, EdgeBoth);
        Ask(SetDirection, 1, DirectionIn);
        Ask(SetIrqType, 1, EdgeBoth);
        Unmask(0);
        (ushort other, _) = Unmask(1);
        _chip.Held[1]!.ReadError = 19; // ENODEV: the chip went away
        _logic.OnReady(Events, _events, _logic.Lines[0].WatchToken);
        Assert.That(_logic.Lines[0].WatchToken, Is.EqualTo(0UL), "no longer watched");
        Edge(1, rising: true);
        Assert.That(_events.TakeUsed(), Is.EqualTo(new[] { (other, 1u) }));
    }

    [Test]
    public void Reset_ReleasesEveryHostIrqRequest()
    {
        Ask(SetDirection, 0, DirectionOut);
        Ask(SetDirection, 1, DirectionIn);
        Ask(SetIrqType, 1, EdgeBoth);
        _logic.Reset();
        Assert.That(_chip.Held, Is.All.Null);
        _logic.Dispose();
        Assert.That(_chip.Disposed, Is.True);
    }

    private (byte Status, byte Value) Ask(ushort type, ushort line, uint value)
    {
        DriverBuffer response = _requests.Writable(2);
        ushort head = _requests.Driver.AddChain(_requests.Readable(Request(type, line, value)), response);
        _logic.ServiceQueue(Requests, _requests);
        Assert.That(_requests.TakeUsed(), Is.EqualTo(new[] { (head, 2u) }), $"request {type} on line {line} answered");
        return (_requests.Bytes(response)[0], _requests.Bytes(response)[1]);
    }

    private (ushort Head, DriverBuffer Status) Unmask(ushort line)
    {
        DriverBuffer status = _events.Writable(1);
        ushort head = _events.Driver.AddChain(_events.Readable(IrqRequest(line)), status);
        _logic.ServiceQueue(Events, _events);
        return (head, status);
    }

    private (ushort Head, DriverBuffer? Status, uint Written) Raw(DriverBuffer request, DriverBuffer? status) =>
        status is { } s
            ? (_events.Driver.AddChain(request, s), s, 1u)
            : (_events.Driver.AddChain(request), null, 0u);

    /// <summary>An edge on the host line behind guest line <paramref name="line"/>, reported as the back end's watch would.</summary>
    private void Edge(int line, bool rising)
    {
        GpioLine l = _logic.Lines[line];
        _chip.Held[l.HostOffset]!.Edges.Enqueue(new HostEdge(rising, 1, ++_seqno));
        _logic.OnReady(Events, _events, l.WatchToken);
    }
}
