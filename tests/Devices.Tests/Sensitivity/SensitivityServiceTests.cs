// SPDX-License-Identifier: MIT
using NUnit.Framework;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;

namespace VirtioLoopback.Tests.Sensitivity;

[TestFixture]
public sealed class SensitivityServiceTests
{
    private FakeClock _clock = null!;
    private FakeHidrawSystem _system = null!;
    private SensitivityService _service = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeClock();
        _system = new FakeHidrawSystem();
        _service = new SensitivityService(_system, _clock) { TimeoutMs = 5000, GoneTimeoutMs = 1000 };
    }

    private FakeDisplay Add(string path, ControllerType type, byte level = 0)
    {
        var d = new FakeDisplay(_clock, path, type) { Sensitivity = level };
        _system.Displays.Add(d);
        return d;
    }

    [Test]
    public void Get_ReadsTypeFirmwareAndLevel()
    {
        FakeDisplay d = Add("/dev/hidraw3", ControllerType.Mxt, 1);
        SensitivityResult r = _service.Get(d.Node);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Ok));
        Assert.That(r.State, Is.EqualTo(new HttState(ControllerType.Mxt, 0x01020304, SensitivityLevel.High)));
    }

    [Test]
    public void Get_ControllerWithoutSetting_HasNoLevel()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Ft5);
        Assert.That(_service.Get(d.Node).State?.Sensitivity, Is.Null);
    }

    [TestCase(ControllerType.Mxt, SensitivityLevel.High)]
    [TestCase(ControllerType.Mxt, SensitivityLevel.Extra)]
    [TestCase(ControllerType.Gt9, SensitivityLevel.High)]
    public void Set_WritesReport7_WaitsForTheRebootAndVerifies(ControllerType type, SensitivityLevel level)
    {
        FakeDisplay d = Add("/dev/hidraw0", type);
        d.PathAfterReboot = "/dev/hidraw5";
        SensitivityResult r = _service.Set(d.Node, level);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Ok), r.Message);
        Assert.That(d.Sets, Has.Count.EqualTo(1));
        Assert.That(d.Sets[0], Is.EqualTo(new byte[] { 7, (byte)level }));
        Assert.That(r.Restarted, Is.True);
        Assert.That(r.Node?.Path, Is.EqualTo("/dev/hidraw5"), "found again under its new number");
        Assert.That(r.State?.Sensitivity, Is.EqualTo(level));
        Assert.That(r.ElapsedMs, Is.GreaterThanOrEqualTo(700));
    }

    [TestCase(ControllerType.Gt9, SensitivityLevel.Extra, SensitivityStatus.UnsupportedLevel)]
    [TestCase(ControllerType.Ft5, SensitivityLevel.Normal, SensitivityStatus.UnsupportedController)]
    [TestCase(ControllerType.Ili25, SensitivityLevel.High, SensitivityStatus.UnsupportedController)]
    [TestCase(ControllerType.Resistive, SensitivityLevel.High, SensitivityStatus.UnsupportedController)]
    [TestCase(ControllerType.None, SensitivityLevel.High, SensitivityStatus.UnsupportedController)]
    public void Set_Unsupported_IsRefusedWithoutWriting(ControllerType type, SensitivityLevel level, SensitivityStatus expected)
    {
        FakeDisplay d = Add("/dev/hidraw0", type, 1);
        SensitivityResult r = _service.Set(d.Node, level);
        Assert.That(r.Status, Is.EqualTo(expected));
        Assert.That(r.Succeeded, Is.False);
        Assert.That(d.Sets, Is.Empty);
        Assert.That(r.Message, Does.Contain(HttProtocol.Name(type)));
    }

    [Test]
    public void Set_SameLevel_IsUnchangedWithoutAReboot()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Mxt, 2);
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.Extra);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Unchanged));
        Assert.That(r.Succeeded, Is.True);
        Assert.That(d.Sets, Is.Empty);
    }

    [Test]
    public void Set_DisplayNeverBack_IsATimeout()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Mxt);
        d.RebootMs = -1;
        long start = _clock.NowMs;
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.High);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Timeout));
        Assert.That(r.Succeeded, Is.False);
        Assert.That(_clock.NowMs - start, Is.InRange(5000, 5000 + SensitivityService.PollIntervalMs));
        Assert.That(r.Message, Does.Contain("within 5000 ms"));
    }

    [Test]
    public void Set_BackWithAnotherValue_IsAMismatch()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Mxt);
        d.ComesBackWith = 0;
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.High);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Mismatch));
        Assert.That(r.State?.Sensitivity, Is.EqualTo(SensitivityLevel.Normal));
    }

    [Test]
    public void Set_RequestFailedByTheReboot_IsStillVerified()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Mxt);
        d.SetErrno = 5;
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.High);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Ok), r.Message);
        Assert.That(r.State?.Sensitivity, Is.EqualTo(SensitivityLevel.High));
    }

    [Test]
    public void Set_FailsWithoutAReboot_IsAnIoError()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Mxt);
        d.SetErrno = 32;
        d.RebootMs = null;
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.High);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.IoError));
        Assert.That(r.Message, Does.Contain("set feature report 7"));
    }

    [Test]
    public void Set_NoRebootButValueTaken_IsVerifiedInPlace()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Gt9);
        d.RebootMs = null;
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.High);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Ok));
        Assert.That(r.Restarted, Is.False);
    }

    [Test]
    public void Set_AnotherDisplayOfTheSameModel_IsNotMistakenForIt()
    {
        FakeDisplay d = Add("/dev/hidraw0", ControllerType.Mxt);
        FakeDisplay other = Add("/dev/hidraw1", ControllerType.Mxt);
        other.Phys = "usb-0000:00:14.0-2/input0";
        d.RebootMs = -1;
        SensitivityResult r = _service.Set(d.Node, SensitivityLevel.High);
        Assert.That(r.Status, Is.EqualTo(SensitivityStatus.Timeout));
        Assert.That(other.Sets, Is.Empty);
    }

    [Test]
    public void Resolve_OneDisplay_NoneOrSeveral()
    {
        Assert.That(_service.TryResolve(null, out _, out string error), Is.False);
        Assert.That(error, Is.EqualTo("no HTT display found"));

        _system.Others.Add(new HidrawNode("/dev/hidraw0", 0x046d, 0xc31c, "Keyboard", "usb-1"));
        FakeDisplay d = Add("/dev/hidraw1", ControllerType.Mxt);
        Assert.That(_service.TryResolve(null, out HidrawNode? only, out _), Is.True);
        Assert.That(only!.Path, Is.EqualTo("/dev/hidraw1"));

        FakeDisplay d2 = Add("/dev/hidraw2", ControllerType.Gt9);
        d2.Phys = "usb-2";
        Assert.That(_service.TryResolve(null, out _, out error), Is.False);
        Assert.That(error, Does.Contain("2 HTT displays found"));
        Assert.That(_service.TryResolve("1", out HidrawNode? second, out _), Is.True);
        Assert.That(second!.Path, Is.EqualTo("/dev/hidraw2"));
        Assert.That(_service.TryResolve("2", out _, out error), Is.False);
        Assert.That(_service.TryResolve("/dev/hidraw0", out _, out error), Is.False);
        Assert.That(error, Does.Contain("is not an HTT display"));
        Assert.That(_service.TryResolve(d.Path, out HidrawNode? byPath, out _), Is.True);
        Assert.That(byPath, Is.EqualTo(d.Node));
    }
}
