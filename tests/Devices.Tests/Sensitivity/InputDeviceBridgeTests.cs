// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using NUnit.Framework;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;
using VirtioLoopback.Tests.Input;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests.Sensitivity;

/// <summary>The input device with a (fake) sensitivity bridge: capability, status routing, answer injection.</summary>
[TestFixture]
public sealed class InputDeviceBridgeTests
{
    private FakeEvdev _evdev = null!;
    private FakeBridge _bridge = null!;
    private InputDevice _device = null!;
    private QueueHarness _eventq = null!;
    private FakeWorker _worker = null!;
    private readonly Dictionary<ushort, ulong> _heads = new();

    [SetUp]
    public void SetUp()
    {
        _evdev = InputConfigSpaceTests.Keyboard();
        _evdev.Abs[0] = _evdev.Abs[0] with { Value = 0 };
        _bridge = new FakeBridge();
        _device = new InputDevice(new FakeOpener(), _evdev, InputEventPipeline.DefaultCapacity, _bridge);
        _eventq = new QueueHarness(size: 16);
        _worker = new FakeWorker();
        for (int i = 0; i < 16; i++)
        {
            DriverBuffer b = _eventq.Writable(8);
            _heads[_eventq.Driver.AddChain(b)] = b.Gpa;
        }
    }

    [TearDown]
    public void TearDown()
    {
        _device.Dispose();
        _evdev.Dispose();
        _bridge.Dispose();
        _eventq.Dispose();
    }

    [Test]
    public void Config_AdvertisesMscRaw()
    {
        Assert.That(_device.Config.Info.HasCode(InputEventCodes.EvMsc, 3), Is.True);
        _device.WriteConfig(0, [0x11, (byte)InputEventCodes.EvMsc]);
        byte[] c = new byte[InputConfigSpace.Size];
        _device.ReadConfig(0, c);
        Assert.That(c[2], Is.EqualTo(1), "EV_MSC bitmap size");
        Assert.That(c[8], Is.EqualTo((1 << 3) | (1 << 4)), "MSC_RAW added, the keyboard's MSC_SCAN kept");
    }

    [Test]
    public void StatusEvents_OfTheConvention_GoToTheBridge_LedsStillToTheNode()
    {
        IStatusSink sink = _device;
        sink.OnStatusEvent(new InputEvent(InputEventCodes.EvMsc, 3, 0x54510000));
        sink.OnStatusEvent(new InputEvent(InputEventCodes.EvLed, 1, 1));
        Assert.That(_bridge.Requests, Is.EqualTo(new[] { new InputEvent(InputEventCodes.EvMsc, 3, 0x54510000) }));
        Assert.That(_evdev.Written, Is.EqualTo(new[] { new InputEvent(InputEventCodes.EvLed, 1, 1) }));
    }

    [Test]
    public void Answer_IsDeliveredAsAWholePacket_NeverInsideATouchPacket()
    {
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _eventq.TakeUsed();

        // Half a touch packet is read, then the answer arrives: it waits for the report.
        _evdev.Queue(new InputEvent(InputEventCodes.EvAbs, 0, 10));
        _device.OnDeviceReadable();
        _bridge.Answers.Enqueue([new InputEvent(InputEventCodes.EvMsc, 3, 0x54450001), InputEvent.Report]);
        _device.OnAnswerReady();
        Assert.That(_eventq.TakeUsed(), Is.Empty);

        _evdev.Queue(new InputEvent(InputEventCodes.EvAbs, 1, 20), InputEvent.Report);
        _device.OnDeviceReadable();
        Assert.That(Delivered(), Is.EqualTo(new[]
        {
            new InputEvent(InputEventCodes.EvAbs, 0, 10),
            new InputEvent(InputEventCodes.EvAbs, 1, 20),
            InputEvent.Report,
            new InputEvent(InputEventCodes.EvMsc, 3, 0x54450001),
            InputEvent.Report,
        }));
    }

    [Test]
    public void Answer_WhileTheNodeIsGone_IsDelivered()
    {
        _device.StartEvents(_eventq, _eventq.Chain, _worker);
        _eventq.TakeUsed();
        _evdev.Gone = true;
        _device.OnDeviceReadable();
        _eventq.TakeUsed();
        _bridge.Answers.Enqueue([new InputEvent(InputEventCodes.EvMsc, 3, 0x54450000), InputEvent.Report]);
        _device.OnAnswerReady();
        Assert.That(_eventq.TakeUsed(), Has.Length.EqualTo(2));
    }

    private List<InputEvent> Delivered()
    {
        var events = new List<InputEvent>();
        foreach ((ushort id, uint _) in _eventq.TakeUsed())
        {
            ReadOnlySpan<byte> b = _eventq.Guest.GetSpan(_heads[id], 8);
            events.Add(new InputEvent(BinaryPrimitives.ReadUInt16LittleEndian(b), BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), BinaryPrimitives.ReadInt32LittleEndian(b[4..])));
        }

        return events;
    }

    private sealed class FakeBridge : IInputPlugin
    {
        public EventFd AnswerReady { get; } = EventFd.Create();

        public List<InputEvent> Requests { get; } = new();

        public Queue<InputEvent[]> Answers { get; } = new();

        public void SetLogger(Microsoft.Extensions.Logging.ILogger logger)
        {
        }

        public InputDeviceInfo Amend(InputDeviceInfo info) => info.WithEventCode(InputEventCodes.EvMsc, 3);

        public bool OnStatusEvent(InputEvent inputEvent)
        {
            if (inputEvent.Type != InputEventCodes.EvMsc)
            {
                return false;
            }

            Requests.Add(inputEvent);
            return true;
        }

        public int TakeAnswer(Span<InputEvent> packet)
        {
            if (!Answers.TryDequeue(out InputEvent[]? answer))
            {
                return 0;
            }

            answer.CopyTo(packet);
            return answer.Length;
        }

        public void Dispose() => AnswerReady.Dispose();
    }
}
