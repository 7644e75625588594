// SPDX-License-Identifier: MIT
using NUnit.Framework;
using VirtioLoopback.Devices.Input.Evdev;

namespace VirtioLoopback.Tests.Input;

/// <summary>The numbers <c>linux/input.h</c> produces on x86_64 and arm64 (checked with a C compiler).</summary>
[TestFixture]
public sealed class EvdevIoctlTests
{
    [Test]
    public void FixedRequests()
    {
        Assert.That(EvdevIoctl.GetVersion, Is.EqualTo(0x80044501u));
        Assert.That(EvdevIoctl.GetId, Is.EqualTo(0x80084502u));
        Assert.That(EvdevIoctl.Grab, Is.EqualTo(0x40044590u));
    }

    [TestCase(256, 0x81004506u)]
    [TestCase(128, 0x80804506u)]
    public void GetName(int length, uint expected) => Assert.That(EvdevIoctl.GetName(length), Is.EqualTo(expected));

    [Test]
    public void SizedRequests()
    {
        Assert.That(EvdevIoctl.GetUniq(128), Is.EqualTo(0x80804508u));
        Assert.That(EvdevIoctl.GetProperties(128), Is.EqualTo(0x80804509u));
        Assert.That(EvdevIoctl.GetKeyState(96), Is.EqualTo(0x80604518u));
        Assert.That(EvdevIoctl.GetSwitchState(8), Is.EqualTo(0x8008451bu));
        Assert.That(EvdevIoctl.GetBits(0, 4), Is.EqualTo(0x80044520u));
        Assert.That(EvdevIoctl.GetBits(InputEventCodes.EvKey, 96), Is.EqualTo(0x80604521u));
        Assert.That(EvdevIoctl.GetBits(InputEventCodes.EvLed, 8), Is.EqualTo(0x80084531u));
        Assert.That(EvdevIoctl.GetAbs(0), Is.EqualTo(0x80184540u));
        Assert.That(EvdevIoctl.GetAbs(0x35), Is.EqualTo(0x80184575u));
    }
}
