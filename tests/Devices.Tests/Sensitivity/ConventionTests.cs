// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests.Sensitivity;

[TestFixture]
public sealed class ConventionTests
{
    [Test]
    public void RequestValues_AreTheDocumentedOnes()
    {
        Assert.That(VirtioInputConvention.Query, Is.EqualTo(0x54510000));
        Assert.That(VirtioInputConvention.Set(SensitivityLevel.Normal), Is.EqualTo(0x54530000));
        Assert.That(VirtioInputConvention.Set(SensitivityLevel.Extra), Is.EqualTo(0x54530002));
        Assert.That((VirtioInputConvention.EventType, VirtioInputConvention.EventCode), Is.EqualTo(((ushort)4, (ushort)3)));
    }

    [Test]
    public void Answer_WithState_RoundTrips()
    {
        int[] values = new int[VirtioInputConvention.MaxAnswerValues];
        var state = new HttState(ControllerType.Gt9, 0xA1B2C3D4, SensitivityLevel.High);
        int n = VirtioInputConvention.WriteAnswer(SensitivityStatus.Ok, state, values);
        Assert.That(values[..n], Is.EqualTo(new[] { 0x54430003, 0x5446C3D4, 0x5447A1B2, 0x544C0001, 0x54450000 }));

        var reader = new VirtioAnswerReader();
        for (int i = 0; i < n - 1; i++)
        {
            Assert.That(reader.Add(values[i], out _, out _), Is.False);
        }

        Assert.That(reader.Add(values[n - 1], out SensitivityStatus status, out HttState? got), Is.True);
        Assert.That(status, Is.EqualTo(SensitivityStatus.Ok));
        Assert.That(got, Is.EqualTo(state));
    }

    [Test]
    public void Answer_NoLevelAndStatusOnly()
    {
        int[] values = new int[VirtioInputConvention.MaxAnswerValues];
        int n = VirtioInputConvention.WriteAnswer(SensitivityStatus.UnsupportedController, new HttState(ControllerType.Ft5, 7, null), values);
        Assert.That(values[3], Is.EqualTo(0x544C00FF));
        var reader = new VirtioAnswerReader();
        HttState? got = null;
        SensitivityStatus status = default;
        for (int i = 0; i < n; i++)
        {
            reader.Add(values[i], out status, out got);
        }

        Assert.That(status, Is.EqualTo(SensitivityStatus.UnsupportedController));
        Assert.That(got, Is.EqualTo(new HttState(ControllerType.Ft5, 7, null)));

        n = VirtioInputConvention.WriteAnswer(SensitivityStatus.NotFound, null, values);
        Assert.That(n, Is.EqualTo(1));
        Assert.That(reader.Add(values[0], out status, out got), Is.True);
        Assert.That((status, got), Is.EqualTo((SensitivityStatus.NotFound, (HttState?)null)));
    }

    [Test]
    public void Reader_IgnoresEchoedRequests()
    {
        var reader = new VirtioAnswerReader();
        Assert.That(reader.Add(VirtioInputConvention.Query, out _, out _), Is.False);
        Assert.That(reader.Add(VirtioInputConvention.Set(SensitivityLevel.High), out _, out _), Is.False);
    }

    [Test]
    public void Uevent_IsParsed()
    {
        const string text = "DRIVER=hid-generic\nHID_ID=0003:00001B3D:000014C9\nHID_NAME=Matrix Orbital HTT\nHID_PHYS=usb-0000:00:14.0-4/input0\nHID_UNIQ=\nMODALIAS=hid:b0003g0001v00001B3Dp000014C9\n";
        Assert.That(HidrawSystem.TryParseUevent(text, "/dev/hidraw2", out HidrawNode? node), Is.True);
        Assert.That(node, Is.EqualTo(new HidrawNode("/dev/hidraw2", 0x1B3D, 0x14C9, "Matrix Orbital HTT", "usb-0000:00:14.0-4/input0")));
        Assert.That(HttProtocol.IsDisplay(node!), Is.True);
        Assert.That(HidrawSystem.TryParseUevent("HID_NAME=x\n", "/dev/hidraw0", out _), Is.False);
        Assert.That(HidrawSystem.TryParseUevent("HID_ID=0003:XYZ:1\n", "/dev/hidraw0", out _), Is.False);
    }

    [Test]
    public void IoctlNumbers_MatchLinuxHidraw()
    {
        // linux/hidraw.h on x86_64 and arm64.
        Assert.That(HidrawIoctl.GetRawInfo, Is.EqualTo(0x80084803u));
        Assert.That(HidrawIoctl.GetFeature(2), Is.EqualTo(0xC0024807u));
        Assert.That(HidrawIoctl.SetFeature(2), Is.EqualTo(0xC0024806u));
        Assert.That(HidrawIoctl.GetRawName(256), Is.EqualTo(0x81004804u));
    }

    [Test]
    public void Display_ShortOrWrongReply_IsAProtocolError()
    {
        var clock = new FakeClock();
        var d = new FakeDisplay(clock, "/dev/hidraw0", ControllerType.Mxt);
        using var device = new ShortDevice();
        Assert.Throws<HttProtocolException>(() => new HttDisplay(device).ReadFirmware());
        using var fine = new FakeHidrawDevice(d);
        Assert.That(new HttDisplay(fine).ReadFirmware(), Is.EqualTo(0x01020304u));
    }

    [TestCase("normal", SensitivityLevel.Normal)]
    [TestCase("HIGH", SensitivityLevel.High)]
    [TestCase("Extra", SensitivityLevel.Extra)]
    public void Levels_Parse(string text, SensitivityLevel level)
    {
        Assert.That(HttProtocol.TryParseLevel(text, out SensitivityLevel parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(level));
    }

    [Test]
    public void SupportTable()
    {
        Assert.That(HttProtocol.Supports(ControllerType.Mxt, SensitivityLevel.Extra), Is.True);
        Assert.That(HttProtocol.Supports(ControllerType.Gt9, SensitivityLevel.High), Is.True);
        Assert.That(HttProtocol.Supports(ControllerType.Gt9, SensitivityLevel.Extra), Is.False);
        Assert.That(HttProtocol.Supports(ControllerType.Ft5, SensitivityLevel.Normal), Is.False);
        Assert.That(HttProtocol.TryParseLevel("max", out _), Is.False);
    }

    private sealed class ShortDevice : IHidrawDevice
    {
        public string Path => "/dev/short";

        public int GetFeature(Span<byte> report) => 2;

        public void SetFeature(ReadOnlySpan<byte> report) => throw new SysException("ioctl", 5);

        public bool WaitGone(int timeoutMs) => false;

        public void Dispose()
        {
        }
    }
}
