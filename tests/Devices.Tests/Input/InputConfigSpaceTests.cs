// SPDX-License-Identifier: MIT
using System;
using System.Linq;
using NUnit.Framework;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;

namespace VirtioLoopback.Tests.Input;

[TestFixture]
public sealed class InputConfigSpaceTests
{
    internal static FakeEvdev Keyboard()
    {
        FakeEvdev d = new() { Uniq = "SN123" };
        d.With(InputEventCodes.EvKey, 30, 58, 0x110)
            .With(InputEventCodes.EvLed, 0, 1)
            .With(InputEventCodes.EvRep)
            .With(InputEventCodes.EvMsc, 4)
            .With(InputEventCodes.EvAbs, 0, 1)
            .With(InputEventCodes.EvFf, 0x50);
        d.Properties.Add(1);
        d.Abs[0] = new InputAbsInfo(500, 0, 1023, 4, 8, 12);
        d.Abs[1] = new InputAbsInfo(0, -32768, 32767, 0, 0, 0);
        return d;
    }

    private static byte[] Select(InputConfigSpace config, byte select, byte subsel)
    {
        config.Write(0, [select]);
        config.Write(1, [subsel]);
        byte[] bytes = new byte[InputConfigSpace.Size];
        config.Read(0, bytes);
        Assert.That(bytes[0], Is.EqualTo(select));
        Assert.That(bytes[1], Is.EqualTo(subsel));
        Assert.That(bytes.AsSpan(3, 5).ToArray(), Is.All.Zero, "reserved bytes");
        return bytes;
    }

    private static InputConfigSpace NewConfig() => new(InputDeviceInfo.Read(Keyboard()));

    private static byte[] Union(byte[] config, int length) => config.AsSpan(8, length).ToArray();

    private static void AssertUnionZeroFrom(byte[] config, int size) =>
        Assert.That(config.AsSpan(8 + size).ToArray(), Is.All.Zero, "union bytes past size");

    [Test]
    public void IdName()
    {
        byte[] c = Select(NewConfig(), 0x01, 0);
        Assert.That(c[2], Is.EqualTo(13));
        Assert.That(Union(c, 13), Is.EqualTo("Fake Keyboard"u8.ToArray()));
        AssertUnionZeroFrom(c, 13);
    }

    [Test]
    public void IdSerial_AndNoSerial()
    {
        byte[] c = Select(NewConfig(), 0x02, 0);
        Assert.That(c[2], Is.EqualTo(5));
        Assert.That(Union(c, 5), Is.EqualTo("SN123"u8.ToArray()));

        FakeEvdev noSerial = Keyboard();
        noSerial.Uniq = null;
        Assert.That(Select(new InputConfigSpace(InputDeviceInfo.Read(noSerial)), 0x02, 0)[2], Is.Zero);
    }

    [Test]
    public void IdDevids_AreLittleEndian()
    {
        byte[] c = Select(NewConfig(), 0x03, 0);
        Assert.That(c[2], Is.EqualTo(8));
        Assert.That(Union(c, 8), Is.EqualTo(new byte[] { 0x03, 0x00, 0x6d, 0x04, 0x1c, 0xc3, 0x10, 0x01 }));
        AssertUnionZeroFrom(c, 8);
    }

    [Test]
    public void PropBits()
    {
        byte[] c = Select(NewConfig(), 0x10, 0);
        Assert.That(c[2], Is.EqualTo(1));
        Assert.That(c[8], Is.EqualTo(0x02));
    }

    [Test]
    public void EvBits_Key_IsTrimmedAfterTheLastNonZeroByte()
    {
        byte[] c = Select(NewConfig(), 0x11, (byte)InputEventCodes.EvKey);

        // BTN_LEFT (0x110) is bit 0 of byte 34: 35 bytes, although the kernel filled 96.
        Assert.That(c[2], Is.EqualTo(35));
        byte[] expected = new byte[35];
        expected[30 / 8] = 1 << (30 % 8);
        expected[58 / 8] = 1 << (58 % 8);
        expected[34] = 0x01;
        Assert.That(Union(c, 35), Is.EqualTo(expected));
        AssertUnionZeroFrom(c, 35);
    }

    [TestCase(InputEventCodes.EvLed, new byte[] { 0x03 })]
    [TestCase(InputEventCodes.EvRep, new byte[] { 0x03 })]
    [TestCase(InputEventCodes.EvMsc, new byte[] { 0x10 })]
    [TestCase(InputEventCodes.EvAbs, new byte[] { 0x03 })]
    [TestCase(InputEventCodes.EvFf, new byte[0])]
    [TestCase(InputEventCodes.EvRel, new byte[0])]
    [TestCase(InputEventCodes.EvSyn, new byte[0])]
    public void EvBits_PerType(int type, byte[] expected)
    {
        byte[] c = Select(NewConfig(), 0x11, (byte)type);
        Assert.That(c[2], Is.EqualTo(expected.Length));
        Assert.That(Union(c, expected.Length), Is.EqualTo(expected));
        AssertUnionZeroFrom(c, expected.Length);
    }

    [Test]
    public void AbsInfo_IsFiveLittleEndianWords()
    {
        byte[] c = Select(NewConfig(), 0x12, 0);
        Assert.That(c[2], Is.EqualTo(20));
        Assert.That(Union(c, 20), Is.EqualTo(new byte[]
        {
            0, 0, 0, 0, 0xff, 0x03, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 12, 0, 0, 0,
        }));
        AssertUnionZeroFrom(c, 20);

        byte[] y = Select(NewConfig(), 0x12, 1);
        Assert.That(Union(y, 8), Is.EqualTo(new byte[] { 0x00, 0x80, 0xff, 0xff, 0xff, 0x7f, 0, 0 }));
    }

    [TestCase(0x12, 5)]
    [TestCase(0x00, 0)]
    [TestCase(0x7f, 0)]
    [TestCase(0x01, 1)]
    [TestCase(0x03, 7)]
    public void UnknownSelection_HasSizeZero(int select, int subsel)
    {
        InputConfigSpace config = NewConfig();
        Select(config, 0x01, 0);
        byte[] c = Select(config, (byte)select, (byte)subsel);
        Assert.That(c[2], Is.Zero);
        AssertUnionZeroFrom(c, 0);
    }

    [Test]
    public void WholeConfigWrite_UsesOnlySelectAndSubsel()
    {
        // QEMU's vhost-user-input writes all 136 bytes with the selection in front.
        InputConfigSpace config = NewConfig();
        byte[] write = Enumerable.Repeat((byte)0xAA, InputConfigSpace.Size).ToArray();
        write[0] = 0x11;
        write[1] = (byte)InputEventCodes.EvLed;
        config.Write(0, write);
        byte[] c = new byte[InputConfigSpace.Size];
        config.Read(0, c);
        Assert.That(c.Take(9).ToArray(), Is.EqualTo(new byte[] { 0x11, 0x11, 1, 0, 0, 0, 0, 0, 0x03 }));
        AssertUnionZeroFrom(c, 1);
    }

    [Test]
    public void PartialReads_AndReset()
    {
        InputConfigSpace config = NewConfig();
        config.Write(0, [0x01, 0x00]);
        byte[] size = new byte[1];
        config.Read(2, size);
        Assert.That(size[0], Is.EqualTo(13));
        byte[] part = new byte[4];
        config.Read(8 + 5, part);
        Assert.That(part, Is.EqualTo("Keyb"u8.ToArray()));

        config.Reset();
        byte[] header = new byte[3];
        config.Read(0, header);
        Assert.That(header, Is.EqualTo(new byte[] { 0, 0, 0 }));
    }

    [Test]
    public void Update_ReportsChangesOnlyWhenTheDescriptionDiffers()
    {
        InputConfigSpace config = NewConfig();
        Select(config, 0x01, 0);
        FakeEvdev same = Keyboard();
        same.Abs[0] = same.Abs[0] with { Value = 7 };
        Assert.That(config.Update(InputDeviceInfo.Read(same)), Is.False, "a moved axis is not a new device");

        FakeEvdev renamed = Keyboard();
        renamed.Name = "Other";
        Assert.That(config.Update(InputDeviceInfo.Read(renamed)), Is.True);
        byte[] c = new byte[InputConfigSpace.Size];
        config.Read(0, c);
        Assert.That(c[2], Is.EqualTo(5), "the current selection is answered from the new description");
    }
}
