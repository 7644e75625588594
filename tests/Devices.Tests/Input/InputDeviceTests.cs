// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests.Input;

[TestFixture]
public sealed class InputDeviceTests
{
    private static readonly InputEvent Syn = InputEvent.Report;

    private FakeOpener _opener = null!;
    private FakeEvdev _evdev = null!;
    private FakeWorker _worker = null!;
    private FakeHost _host = null!;
    private InputDevice _device = null!;
    private QueueHarness _eventq = null!;

    [SetUp]
    public void SetUp()
    {
        _opener = new FakeOpener();
        _evdev = InputConfigSpaceTests.Keyboard();

        // Axes at rest, so a starting driver gets no state packet unless a test sets one up.
        _evdev.Abs[0] = _evdev.Abs[0] with { Value = 0 };
        _worker = new FakeWorker();
        _host = new FakeHost();
        _device = new InputDevice(_opener, _evdev, InputEventPipeline.DefaultCapacity);
        _device.Attach(_host);
        _eventq = new QueueHarness(size: 8);
    }

    [TearDown]
    public void TearDown()
    {
        _device.Dispose();
        _evdev.Dispose();
        _eventq.Dispose();
    }

    [Test]
    public void Identity()
    {
        Assert.That(_device.DeviceId, Is.EqualTo(18u));
        Assert.That(_device.QueueCount, Is.EqualTo(2));
        Assert.That(_device.ConfigSize, Is.EqualTo(136));
        Assert.That(_device.DeviceFeatures, Is.EqualTo(VirtioFeatures.Version1));
        Assert.That(_device.ProtocolFeatures & ProtocolFeatures.Config, Is.EqualTo(ProtocolFeatures.Config));
    }

    [Test]
    public void ConfigThroughTheDeviceInterface()
    {
        Assert.That(_device.WriteConfig(0, [0x01, 0x00]), Is.True);
        byte[] c = new byte[InputConfigSpace.Size];
        _device.ReadConfig(0, c);
        Assert.That(c[2], Is.EqualTo(13));
    }

    [Test]
    public void Events_AreDeliveredAsWholePackets_WhenBuffersArrive()
    {
        List<DriverBuffer> buffers = AddEventBuffers(2);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        Assert.That(_worker.Watched, Is.EqualTo(new[] { _evdev }));

        _evdev.Queue(new InputEvent(InputEventCodes.EvAbs, 0, 100), new InputEvent(InputEventCodes.EvAbs, 1, 200), Syn);
        _device.OnDeviceReadable();
        Assert.That(_eventq.TakeUsed(), Is.Empty, "three events, two buffers: nothing is split");

        buffers.AddRange(AddEventBuffers(1));
        _device.ProcessEvents();

        (ushort Id, uint Length)[] used = _eventq.TakeUsed();
        Assert.That(used, Has.Length.EqualTo(3));
        Assert.That(Array.TrueForAll(used, u => u.Length == 8), Is.True);
        Assert.That(Array.ConvertAll(used, u => u.Id), Is.EqualTo(new[] { Head(buffers, 0), Head(buffers, 1), Head(buffers, 2) }));
        Assert.That(_eventq.Bytes(buffers[0]).ToArray(), Is.EqualTo(new byte[] { 3, 0, 0, 0, 100, 0, 0, 0 }));
        Assert.That(_eventq.Bytes(buffers[1]).ToArray(), Is.EqualTo(new byte[] { 3, 0, 1, 0, 200, 0, 0, 0 }));
        Assert.That(_eventq.Bytes(buffers[2]).ToArray(), Is.EqualTo(new byte[8]));
        Assert.That(_eventq.Notifications, Is.GreaterThan(0));
    }

    [Test]
    public void DisabledRing_IsNotPopped_UntilEnabled()
    {
        AddEventBuffers(4);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _eventq.IsEnabled = false;
        _evdev.Queue(new InputEvent(InputEventCodes.EvKey, 30, 1), Syn);
        _device.OnDeviceReadable();
        Assert.That(_eventq.TakeUsed(), Is.Empty);

        _eventq.IsEnabled = true;
        _device.ProcessEvents();
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(2));
    }

    [Test]
    public void EventSplitOverTwoDescriptors_IsWrittenWhole()
    {
        DriverBuffer a = _eventq.Writable(3);
        DriverBuffer b = _eventq.Writable(5);
        _eventq.Driver.AddChain(a, b);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _evdev.Queue(new InputEvent(InputEventCodes.EvKey, 0x110, 1));
        _evdev.Queue(Syn);
        _device.OnDeviceReadable();
        Assert.That(_eventq.TakeUsed(), Is.Empty);
        AddEventBuffers(1);
        _device.ProcessEvents();
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(2));
        Assert.That(_eventq.Bytes(a).ToArray(), Is.EqualTo(new byte[] { 1, 0, 0x10 }));
        Assert.That(_eventq.Bytes(b).ToArray(), Is.EqualTo(new byte[] { 1, 1, 0, 0, 0 }));
    }

    [Test]
    public void StateAtStart_IsSentToTheNewDriver()
    {
        _evdev.KeysDown.Add(30);
        _evdev.Abs[0] = _evdev.Abs[0] with { Value = 500 };
        _evdev.Queue(new InputEvent(InputEventCodes.EvKey, 58, 1), Syn);
        List<DriverBuffer> buffers = AddEventBuffers(4);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);

        // Stale events queued before the driver came are dropped; the held key and the axis
        // position are reported in one packet.
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(3));
        Assert.That(_evdev.Pending, Is.Empty);
        Assert.That(_eventq.Bytes(buffers[0]).ToArray(), Is.EqualTo(new byte[] { 1, 0, 30, 0, 1, 0, 0, 0 }));
        Assert.That(_eventq.Bytes(buffers[1]).ToArray(), Is.EqualTo(new byte[] { 3, 0, 0, 0, 0xf4, 1, 0, 0 }));
        Assert.That(_eventq.Bytes(buffers[2]).ToArray(), Is.EqualTo(new byte[8]));
    }

    [Test]
    public void Stop_ReturnsHeldBuffersAsEmptyReports()
    {
        List<DriverBuffer> buffers = AddEventBuffers(3);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        Assert.That(_eventq.TakeUsed(), Is.Empty);

        _device.StopEvents();

        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(3));
        foreach (DriverBuffer b in buffers)
        {
            Assert.That(_eventq.Bytes(b).ToArray(), Is.EqualTo(new byte[8]));
        }

        Assert.That(_worker.Watched, Is.Empty);
    }

    [Test]
    public void StatusQueue_LedWritesReachTheDevice()
    {
        using QueueHarness statusq = new(size: 8);
        byte[] capsOn = Wire(InputEventCodes.EvLed, 1, 1);
        byte[] twoEvents = [.. Wire(InputEventCodes.EvLed, 0, 1), .. Wire(InputEventCodes.EvSnd, 1, 1)];
        ushort first = statusq.Driver.AddChain(statusq.Readable(capsOn));
        ushort second = statusq.Driver.AddChain(statusq.Readable(twoEvents));
        ushort third = statusq.Driver.AddChain(statusq.Readable(Wire(InputEventCodes.EvKey, 30, 1)));
        _device.StartStatus(statusq, statusq.Chain);

        _device.ProcessStatus();

        Assert.That(statusq.TakeUsed(), Is.EqualTo(new[] { (first, 0u), (second, 0u), (third, 0u) }));
        Assert.That(_evdev.Written, Is.EqualTo(new[]
        {
            new InputEvent(InputEventCodes.EvLed, 1, 1),
            new InputEvent(InputEventCodes.EvLed, 0, 1),
            new InputEvent(InputEventCodes.EvSnd, 1, 1),
        }));
    }

    [Test]
    public void NodeGone_ThenBack_ReopensAndNotifiesAConfigChange()
    {
        AddEventBuffers(8);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _evdev.Queue(new InputEvent(InputEventCodes.EvKey, 30, 1), Syn);
        _device.OnDeviceReadable();
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(2));

        // Unplugged: closed, unwatched, the held key released, the retry timer armed.
        _evdev.Gone = true;
        _device.OnDeviceReadable();
        Assert.That(_evdev.Disposed, Is.True);
        Assert.That(_device.IsDeviceOpen, Is.False);
        Assert.That(_worker.Watched, Is.Empty);
        Assert.That(_worker.RetryArmed, Is.True);
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(2), "KEY_A release and its report");

        // Still gone at the first retry.
        _device.OnRetryTimer();
        Assert.That(_opener.Attempts, Is.EqualTo(1));
        Assert.That(_worker.RetryArmed, Is.True);
        Assert.That(_worker.RetryArms, Is.EqualTo(1), "the periodic timer is armed once");

        // Back, as a different device.
        FakeEvdev back = InputConfigSpaceTests.Keyboard();
        back.Name = "Replugged";
        back.Abs[0] = back.Abs[0] with { Value = 0 };
        _opener.Next.Enqueue(back);
        _device.OnRetryTimer();
        Assert.That(_device.IsDeviceOpen, Is.True);
        Assert.That(_worker.Watched, Is.EqualTo(new[] { back }));
        Assert.That(_worker.RetryArmed, Is.False);
        Assert.That(_host.ConfigChanges, Is.EqualTo(1));
        _device.WriteConfig(0, [0x01, 0x00]);
        byte[] c = new byte[InputConfigSpace.Size];
        _device.ReadConfig(0, c);
        Assert.That(c[2], Is.EqualTo(9));

        // Events flow again, and LED writes reach the new node.
        back.Queue(new InputEvent(InputEventCodes.EvKey, 58, 1), Syn);
        _device.OnDeviceReadable();
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(2));
        ((IStatusSink)_device).OnStatusEvent(new InputEvent(InputEventCodes.EvLed, 1, 1));
        Assert.That(back.Written, Has.Count.EqualTo(1));
    }

    [Test]
    public void NodeBack_Unchanged_SendsNoConfigChange()
    {
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _evdev.Gone = true;
        _device.OnDeviceReadable();
        _opener.Next.Enqueue(InputConfigSpaceTests.Keyboard());
        _device.OnRetryTimer();
        Assert.That(_device.IsDeviceOpen, Is.True);
        Assert.That(_host.ConfigChanges, Is.Zero);
    }

    [Test]
    public void SynDropped_ResynchronisesFromTheDevice()
    {
        AddEventBuffers(8);
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _evdev.KeysDown.Add(30);
        _evdev.Queue(
            new InputEvent(InputEventCodes.EvRel, 0, 1),
            new InputEvent(InputEventCodes.EvSyn, InputEventCodes.SynDropped, 0),
            new InputEvent(InputEventCodes.EvKey, 99, 1),
            Syn);
        _device.OnDeviceReadable();

        // Only the state read back goes out: KEY_A (held on the device) and a report.
        (ushort Id, uint Length)[] used = _eventq.TakeUsed();
        Assert.That(used, Has.Length.EqualTo(2));
    }

    private static byte[] Wire(ushort type, ushort code, int value)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(b, type);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), code);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), value);
        return b;
    }

    private readonly Dictionary<ulong, ushort> _heads = new();

    private ushort Head(List<DriverBuffer> buffers, int i) => _heads[buffers[i].Gpa];

    private List<DriverBuffer> AddEventBuffers(int n)
    {
        List<DriverBuffer> added = new();
        for (int i = 0; i < n; i++)
        {
            DriverBuffer b = _eventq.Writable(8);
            _heads[b.Gpa] = _eventq.Driver.AddChain(b);
            added.Add(b);
        }

        return added;
    }

    private sealed class FakeHost : IDeviceHost
    {
        public int ConfigChanges { get; private set; }

        public ILoggerFactory LoggerFactory => NullLoggerFactory.Instance;

        public bool NotifyConfigChanged()
        {
            ConfigChanges++;
            return true;
        }
    }
}
