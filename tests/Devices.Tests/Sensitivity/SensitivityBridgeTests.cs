// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Devices.Input.Sensitivity;
using VirtioLoopback.Hid.Htt;

namespace VirtioLoopback.Tests.Sensitivity;

[TestFixture]
public sealed class SensitivityBridgeTests
{
    private FakeClock _clock = null!;
    private FakeHidrawSystem _system = null!;
    private FakeDisplay _display = null!;
    private SensitivityBridge _bridge = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeClock();
        _system = new FakeHidrawSystem();
        _display = new FakeDisplay(_clock, "/dev/hidraw0", ControllerType.Mxt);
        _system.Displays.Add(_display);
        _bridge = new SensitivityBridge(new SensitivityService(_system, _clock) { TimeoutMs = 3000 }, _display.Node);
    }

    [TearDown]
    public void TearDown() => _bridge.Dispose();

    private static InputEvent Msc(int value) => new(VirtioInputConvention.EventType, VirtioInputConvention.EventCode, value);

    private InputEvent[] NextAnswer()
    {
        var clock = Stopwatch.StartNew();
        InputEvent[] packet = new InputEvent[8];
        while (clock.ElapsedMilliseconds < 5000)
        {
            int n = _bridge.TakeAnswer(packet);
            if (n > 0)
            {
                Assert.That(_bridge.AnswerReady.TryRead(out ulong signals), Is.True, "the eventfd was signalled");
                Assert.That(signals, Is.GreaterThanOrEqualTo(1UL));
                return packet[..n];
            }

            Thread.Sleep(5);
        }

        Assert.Fail("no answer within 5 s");
        return [];
    }

    [Test]
    public void Amend_AdvertisesMscRaw()
    {
        var info = Devices.Input.InputDeviceInfo.Read(new Input.FakeEvdev());
        Assert.That(info.HasCode(InputEventCodes.EvMsc, 3), Is.False);
        var amended = _bridge.Amend(info);
        Assert.That(amended.HasCode(InputEventCodes.EvMsc, 3), Is.True);
        Assert.That(amended.HasEventType(InputEventCodes.EvMsc), Is.True);
    }

    [Test]
    public void Query_IsAnsweredWithTheStateAndAReport()
    {
        Assert.That(_bridge.OnStatusEvent(Msc(VirtioInputConvention.Query)), Is.True);
        InputEvent[] answer = NextAnswer();
        Assert.That(answer, Is.EqualTo(new[]
        {
            Msc(0x54430002), Msc(0x54460304), Msc(0x54470102), Msc(0x544C0000), Msc(0x54450000), InputEvent.Report,
        }));
    }

    [Test]
    public void Set_ChangesTheDisplay_AndAnswersAfterTheReboot()
    {
        _display.PathAfterReboot = "/dev/hidraw4";
        Assert.That(_bridge.OnStatusEvent(Msc(VirtioInputConvention.Set(SensitivityLevel.Extra))), Is.True);
        InputEvent[] answer = NextAnswer();
        Assert.That(answer[3], Is.EqualTo(Msc(0x544C0002)));
        Assert.That(answer[4], Is.EqualTo(Msc(0x54450000)));
        Assert.That(_display.Sets, Has.Count.EqualTo(1));
        Assert.That(_bridge.Node.Path, Is.EqualTo("/dev/hidraw4"), "the bridge follows the display's new node");

        // The next request goes to the new node.
        _bridge.OnStatusEvent(Msc(VirtioInputConvention.Query));
        Assert.That(NextAnswer()[4], Is.EqualTo(Msc(0x54450000)));
    }

    [Test]
    public void Set_Unsupported_AnswersTheRefusal()
    {
        _display.Type = ControllerType.Ft5;
        _bridge.OnStatusEvent(Msc(VirtioInputConvention.Set(SensitivityLevel.High)));
        InputEvent[] answer = NextAnswer();
        Assert.That(answer[0], Is.EqualTo(Msc(0x54430004)));
        Assert.That(answer[4], Is.EqualTo(Msc(0x54450002)));
        Assert.That(_display.Sets, Is.Empty);
    }

    [Test]
    public void BadLevel_IsABadRequest()
    {
        _bridge.OnStatusEvent(Msc(0x54530007));
        Assert.That(NextAnswer(), Is.EqualTo(new[] { Msc(0x54450009), InputEvent.Report }));
        Assert.That(_display.Sets, Is.Empty);
    }

    [Test]
    public void OwnAnswersAndOtherEvents_AreNotRequests()
    {
        Assert.That(_bridge.OnStatusEvent(Msc(0x54450000)), Is.True, "an echoed answer is the bridge's, and ignored");
        Assert.That(_bridge.OnStatusEvent(new InputEvent(InputEventCodes.EvLed, 1, 1)), Is.False);
        Assert.That(_bridge.OnStatusEvent(new InputEvent(InputEventCodes.EvMsc, 4, 0x54510000)), Is.False, "MSC_SCAN is not the convention's code");
        Assert.That(_system.Opens, Is.Zero);

        // Requests are answered in order: a query after those events gets the first answer, and
        // nothing follows it, so none of them was taken for a request.
        _bridge.OnStatusEvent(Msc(VirtioInputConvention.Query));
        Assert.That(NextAnswer()[0], Is.EqualTo(Msc(0x54430002)), "the query's answer comes first");
        Assert.That(_bridge.TakeAnswer(new InputEvent[8]), Is.Zero, "and it is the only one");
    }
}
