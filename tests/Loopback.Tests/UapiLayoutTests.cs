// SPDX-License-Identifier: MIT
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;
using VirtioLoopback.Loopback;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests;

/// <summary>The UAPI structs and ioctl numbers, byte for byte against virtio_loopback.h.</summary>
[TestFixture]
public class UapiLayoutTests
{
    [Test]
    public void Sizes_MatchTheHeader()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<LoopbackApiInfo>(), Is.EqualTo(64));
            Assert.That(Unsafe.SizeOf<LoopbackCreate>(), Is.EqualTo(96));
            Assert.That(Unsafe.SizeOf<LoopbackHandle>(), Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<LoopbackQueueFds>(), Is.EqualTo(32));
            Assert.That(Unsafe.SizeOf<LoopbackQueueInfo>(), Is.EqualTo(64));
            Assert.That(Unsafe.SizeOf<LoopbackConfig>(), Is.EqualTo(32));
            Assert.That(Unsafe.SizeOf<LoopbackEventDone>(), Is.EqualTo(24));
            Assert.That(Unsafe.SizeOf<LoopbackEvent>(), Is.EqualTo(128));
            Assert.That(Unsafe.SizeOf<LoopbackApiSelect>(), Is.EqualTo(16));
        });
    }

    [TestCase(LoopbackUapi.IocGetApiVersion, 2u, 0u, 64u)]
    [TestCase(LoopbackUapi.IocCreateDevice, 3u, 1u, 96u)]
    [TestCase(LoopbackUapi.IocDestroyDevice, 1u, 2u, 16u)]
    [TestCase(LoopbackUapi.IocSetQueueFds, 1u, 3u, 32u)]
    [TestCase(LoopbackUapi.IocGetQueueInfo, 3u, 4u, 64u)]
    [TestCase(LoopbackUapi.IocSetConfig, 1u, 5u, 32u)]
    [TestCase(LoopbackUapi.IocEventDone, 1u, 6u, 24u)]
    [TestCase(LoopbackUapi.IocFailDevice, 1u, 7u, 16u)]
    [TestCase(LoopbackUapi.IocSetApiVersion, 1u, 8u, 16u)]
    public void IoctlNumbers_AreIocEncodings(uint number, uint dir, uint nr, uint size)
    {
        uint expected = dir switch
        {
            1 => IoCtl.Iow(LoopbackUapi.IocMagic, nr, size),
            2 => IoCtl.Ior(LoopbackUapi.IocMagic, nr, size),
            _ => IoCtl.Iowr(LoopbackUapi.IocMagic, nr, size),
        };
        Assert.That(number, Is.EqualTo(expected));
    }

    [Test]
    public void Create_FieldOffsets()
    {
        var c = new LoopbackCreate
        {
            DeviceId = 0x11111111,
            VendorId = 0x22222222,
            DeviceFeatures = 0x3333333333333333,
            NumQueues = 0x44444444,
            MaxQueueSize = 0x55555555,
            PoolSize = 0x6666666666666666,
            ConfigSize = 0x77777777,
            Flags = 0x88888888,
            ConfigAddr = 0x9999999999999999,
            Handle = 0xaaaaaaaa,
            PoolFd = 0x0bbbbbbb,
            PoolDmaBase = 0xcccccccccccccccc,
        };
        byte[] b = Bytes(ref c);
        Assert.Multiple(() =>
        {
            Assert.That(BitConverter.ToUInt32(b, 0), Is.EqualTo(0x11111111));
            Assert.That(BitConverter.ToUInt32(b, 4), Is.EqualTo(0x22222222));
            Assert.That(BitConverter.ToUInt64(b, 8), Is.EqualTo(0x3333333333333333));
            Assert.That(BitConverter.ToUInt32(b, 16), Is.EqualTo(0x44444444));
            Assert.That(BitConverter.ToUInt32(b, 20), Is.EqualTo(0x55555555));
            Assert.That(BitConverter.ToUInt64(b, 24), Is.EqualTo(0x6666666666666666));
            Assert.That(BitConverter.ToUInt32(b, 32), Is.EqualTo(0x77777777));
            Assert.That(BitConverter.ToUInt32(b, 36), Is.EqualTo(0x88888888));
            Assert.That(BitConverter.ToUInt64(b, 40), Is.EqualTo(0x9999999999999999));
            Assert.That(b[48..64], Is.All.Zero, "reserved_in");
            Assert.That(BitConverter.ToUInt32(b, 64), Is.EqualTo(0xaaaaaaaa));
            Assert.That(BitConverter.ToInt32(b, 68), Is.EqualTo(0x0bbbbbbb));
            Assert.That(BitConverter.ToUInt64(b, 72), Is.EqualTo(0xcccccccccccccccc));
            Assert.That(b[80..96], Is.All.Zero, "reserved_out");
        });
    }

    [Test]
    public void QueueFds_And_Config_And_Done_Bytes()
    {
        var q = new LoopbackQueueFds { Handle = 1, Queue = 2, KickFd = 3, CallFd = -1, Flags = 0 };
        Assert.That(Bytes(ref q), Is.EqualTo(new byte[]
        {
            1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        }));
        var c = new LoopbackConfig { Handle = 7, Offset = 8, Size = 9, Flags = LoopbackUapi.ConfigNotify, ConfigAddr = 0x0102030405060708 };
        Assert.That(Bytes(ref c), Is.EqualTo(new byte[]
        {
            7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0,
            8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        }));
        var d = new LoopbackEventDone { Handle = 5, Status = 5, Seq = 0x1122 };
        Assert.That(Bytes(ref d), Is.EqualTo(new byte[]
        {
            5, 0, 0, 0, 5, 0, 0, 0, 0x22, 0x11, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
        }));
        var h = new LoopbackHandle { Handle = 0x0a };
        Assert.That(Bytes(ref h), Is.EqualTo(new byte[] { 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void QueueInfo_And_ApiInfo_Offsets()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Marshal.OffsetOf<LoopbackQueueInfo>(nameof(LoopbackQueueInfo.Size)), Is.EqualTo((nint)16));
            Assert.That(Marshal.OffsetOf<LoopbackQueueInfo>(nameof(LoopbackQueueInfo.Ready)), Is.EqualTo((nint)20));
            Assert.That(Marshal.OffsetOf<LoopbackQueueInfo>(nameof(LoopbackQueueInfo.DescAddr)), Is.EqualTo((nint)24));
            Assert.That(Marshal.OffsetOf<LoopbackQueueInfo>(nameof(LoopbackQueueInfo.AvailAddr)), Is.EqualTo((nint)32));
            Assert.That(Marshal.OffsetOf<LoopbackQueueInfo>(nameof(LoopbackQueueInfo.UsedAddr)), Is.EqualTo((nint)40));
            Assert.That(Marshal.OffsetOf<LoopbackApiInfo>(nameof(LoopbackApiInfo.MaxDevices)), Is.EqualTo((nint)20));
            Assert.That(Marshal.OffsetOf<LoopbackApiInfo>(nameof(LoopbackApiInfo.MaxPoolSize)), Is.EqualTo((nint)24));
            Assert.That(Marshal.OffsetOf<LoopbackApiInfo>(nameof(LoopbackApiInfo.MinPoolSize)), Is.EqualTo((nint)32));
            Assert.That(Marshal.OffsetOf<LoopbackApiInfo>(nameof(LoopbackApiInfo.Capabilities)), Is.EqualTo((nint)40));
            Assert.That(Marshal.OffsetOf<LoopbackApiInfo>(nameof(LoopbackApiInfo.MaxApiVersion)), Is.EqualTo((nint)48));
            Assert.That(Marshal.OffsetOf<LoopbackCreate>(nameof(LoopbackCreate.OfferedFeatures)), Is.EqualTo((nint)80));
        });
    }

    [Test]
    public void Event_ParsesKernelRecords()
    {
        byte[] raw = new byte[128];
        BitConverter.TryWriteBytes(raw.AsSpan(0), 4u);          // CONFIG_WRITE
        BitConverter.TryWriteBytes(raw.AsSpan(4), 3u);          // handle
        BitConverter.TryWriteBytes(raw.AsSpan(8), 42UL);        // seq
        BitConverter.TryWriteBytes(raw.AsSpan(16), 1u);         // NEED_REPLY
        BitConverter.TryWriteBytes(raw.AsSpan(24), 5u);         // offset
        BitConverter.TryWriteBytes(raw.AsSpan(28), 2u);         // size
        raw[32] = 0xab;
        raw[33] = 0xcd;
        LoopbackEvent e = MemoryMarshal.Read<LoopbackEvent>(raw);
        Assert.Multiple(() =>
        {
            Assert.That(e.Type, Is.EqualTo(LoopbackEventType.ConfigWrite));
            Assert.That(e.Handle, Is.EqualTo(3u));
            Assert.That(e.Seq, Is.EqualTo(42UL));
            Assert.That(e.NeedsReply, Is.True);
            Assert.That(e.ConfigOffset, Is.EqualTo(5u));
            Assert.That(e.ConfigSize, Is.EqualTo(2u));
            Assert.That(ConfigByte(e, 0), Is.EqualTo(0xab));
            Assert.That(ConfigByte(e, 1), Is.EqualTo(0xcd));
        });

        BitConverter.TryWriteBytes(raw.AsSpan(0), 1u);
        BitConverter.TryWriteBytes(raw.AsSpan(24), 0x0000000300000001UL);
        e = MemoryMarshal.Read<LoopbackEvent>(raw);
        Assert.That(e.Features, Is.EqualTo(0x0000000300000001UL));
        Assert.That(e.NumQueues, Is.EqualTo(1u));

        BitConverter.TryWriteBytes(raw.AsSpan(0), 5u);          // BROKEN
        BitConverter.TryWriteBytes(raw.AsSpan(24), 2u);         // queue
        BitConverter.TryWriteBytes(raw.AsSpan(28), 3u);         // VIRTIO_LOOPBACK_RULE_USED_INDEX
        e = MemoryMarshal.Read<LoopbackEvent>(raw);
        Assert.That(e.Type, Is.EqualTo(LoopbackEventType.Broken));
        Assert.That(e.BrokenQueue, Is.EqualTo(2u));
        Assert.That(e.BrokenRule, Is.EqualTo(LoopbackRule.UsedIndex));
    }

    [TestCase(0x1000UL, 16UL, true, 0x7000UL)]
    [TestCase(0x1000UL + 0xff0, 16UL, true, 0x7ff0UL)]
    [TestCase(0x1000UL + 0xff1, 16UL, false, 0UL)]
    [TestCase(0xfffUL, 1UL, false, 0UL)]
    [TestCase(0x2000UL, 0UL, true, 0x8000UL)]
    public void Translate_DmaToUser(ulong dma, ulong length, bool ok, ulong user)
    {
        bool got = DevicePool.TryTranslate(0x1000, 0x1000, 0x7000, dma, length, out ulong result);
        Assert.That((got, result), Is.EqualTo((ok, user)));
    }

    private static unsafe byte ConfigByte(LoopbackEvent e, int i) => e.ConfigData[i];

    private static byte[] Bytes<T>(ref T value)
        where T : unmanaged => MemoryMarshal.AsBytes(new Span<T>(ref value)).ToArray();
}
