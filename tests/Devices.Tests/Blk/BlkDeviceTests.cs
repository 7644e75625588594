// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests.Blk;

[TestFixture]
public sealed class BlkDeviceTests
{
    private string _path = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _path = BlkHarness.NewImagePath();
        using FileStream f = new(_path, FileMode.CreateNew);
        f.SetLength(8 << 20);
    }

    [TearDown]
    public void TearDown() => File.Delete(_path);

    [Test]
    public void Identity_AndLimits()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path, QueueSize = 256, NumQueues = 2 });
        Assert.That(d.DeviceId, Is.EqualTo(2u));
        Assert.That(d.QueueCount, Is.EqualTo(2));
        Assert.That(d.MaxQueueSize, Is.EqualTo((ushort)256));
        Assert.That(d.ConfigSize, Is.EqualTo(72));
        Assert.That(d.ProtocolFeatures, Is.EqualTo(ProtocolFeatures.Config | ProtocolFeatures.InflightShmfd));
    }

    [Test]
    public void Features_ReadWrite_SingleQueue()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path });
        ulong f = d.DeviceFeatures;
        ulong expected = VirtioFeatures.Version1 | BlkFeatures.SegMax | BlkFeatures.BlkSize | BlkFeatures.Flush
            | BlkFeatures.Topology | BlkFeatures.ConfigWce | BlkFeatures.Discard | BlkFeatures.WriteZeroes;
        Assert.That(f, Is.EqualTo(expected));
        Assert.That(f & BlkFeatures.Mq, Is.Zero);
        Assert.That(f & BlkFeatures.ReadOnly, Is.Zero);
    }

    [Test]
    public void Features_ReadOnly_Multiqueue()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path, ReadOnly = true, NumQueues = 4 });
        ulong f = d.DeviceFeatures;
        Assert.That(f & BlkFeatures.ReadOnly, Is.Not.Zero);
        Assert.That(f & BlkFeatures.Mq, Is.Not.Zero);
        Assert.That(f & (BlkFeatures.Discard | BlkFeatures.WriteZeroes), Is.Zero, "a read-only disk offers no discard or write-zeroes");
        Assert.That(d.Processor.Image.IsReadOnly, Is.True);
    }

    [Test]
    public void Config_BytesAtExactOffsets()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path, QueueSize = 256, NumQueues = 3 });
        byte[] c = new byte[72];
        d.ReadConfig(0, c);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(0)), Is.EqualTo((ulong)(8 << 20) / 512), "capacity");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(8)), Is.Zero, "size_max");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(12)), Is.EqualTo(254u), "seg_max");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(16)), Is.Zero, "geometry");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(20)), Is.EqualTo(512u), "blk_size");
        Assert.That(c[24], Is.Zero, "physical_block_exp");
        Assert.That(c[25], Is.Zero, "alignment_offset");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(c.AsSpan(26)), Is.EqualTo((ushort)1), "min_io_size");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(28)), Is.Zero, "opt_io_size");
        Assert.That(c[32], Is.EqualTo(1), "writeback");
        Assert.That(c[33], Is.Zero, "unused0");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(c.AsSpan(34)), Is.EqualTo((ushort)3), "num_queues");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(36)), Is.EqualTo(0x3F_FFFFu), "max_discard_sectors");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(40)), Is.EqualTo(32u), "max_discard_seg");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(44)), Is.EqualTo(1u), "discard_sector_alignment");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(48)), Is.EqualTo(0x3F_FFFFu), "max_write_zeroes_sectors");
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(52)), Is.EqualTo(32u), "max_write_zeroes_seg");
        Assert.That(c[56], Is.EqualTo(1), "write_zeroes_may_unmap");
        Assert.That(c.AsSpan(57).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "unused1 and the secure-erase fields");

        // A partial read at an offset sees the same bytes.
        byte[] part = new byte[4];
        d.ReadConfig(34, part);
        Assert.That(part, Is.EqualTo(c.AsSpan(34, 4).ToArray()));
    }

    [Test]
    public void WriteConfig_OnlyTheWritebackByte()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path });
        Assert.That(d.WriteConfig(0, new byte[8]), Is.False, "capacity is read-only");
        Assert.That(d.WriteConfig(32, new byte[] { 2 }), Is.False, "only 0 and 1");
        Assert.That(d.WriteConfig(32, new byte[] { 0, 0 }), Is.False, "one byte only");
        Assert.That(d.WriteConfig(33, new byte[] { 0 }), Is.False);
        Assert.That(d.WriteConfig(32, new byte[] { 0 }), Is.True);
        byte[] wb = new byte[1];
        d.ReadConfig(32, wb);
        Assert.That(wb[0], Is.Zero);
    }

    [Test]
    public void CacheMode_FollowsFlushAndWriteback()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path });
        Assert.That(d.IsWriteback, Is.False, "writethrough until FLUSH is negotiated");

        d.OnFeaturesAcked(VirtioFeatures.Version1 | BlkFeatures.Flush | BlkFeatures.ConfigWce);
        Assert.That(d.IsWriteback, Is.True);
        Assert.That(d.Processor.Writethrough, Is.False);

        Assert.That(d.WriteConfig(32, new byte[] { 0 }), Is.True);
        Assert.That(d.IsWriteback, Is.False);
        Assert.That(d.Processor.Writethrough, Is.True);

        Assert.That(d.WriteConfig(32, new byte[] { 1 }), Is.True);
        Assert.That(d.IsWriteback, Is.True);

        d.Reset();
        Assert.That(d.IsWriteback, Is.False);
        byte[] wb = new byte[1];
        d.ReadConfig(32, wb);
        Assert.That(wb[0], Is.EqualTo(1), "reset restores the power-on writeback value");
    }

    [Test]
    public void CacheMode_ConfigWceWithoutFlush_StartsWritethrough()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path });
        d.OnFeaturesAcked(VirtioFeatures.Version1 | BlkFeatures.ConfigWce);
        byte[] wb = new byte[1];
        d.ReadConfig(32, wb);
        Assert.That(wb[0], Is.Zero);
        Assert.That(d.IsWriteback, Is.False);
    }

    [Test]
    public void Resize_GrowsCapacity_AndNotifies()
    {
        using BlkDevice d = new(new BlkDeviceOptions { Path = _path });
        FakeHost host = new();
        d.Attach(host);
        Assert.That(d.Resize(), Is.False, "unchanged size");
        Assert.That(host.ConfigChanges, Is.Zero);

        using (FileStream f = new(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            f.SetLength(16 << 20);
        }

        Assert.That(d.Resize(), Is.True);
        Assert.That(host.ConfigChanges, Is.EqualTo(1));
        Assert.That(d.CapacitySectors, Is.EqualTo((ulong)(16 << 20) / 512));
        byte[] cap = new byte[8];
        d.ReadConfig(0, cap);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(cap), Is.EqualTo((ulong)(16 << 20) / 512));
    }

    [TestCase(0, 128)]
    [TestCase(65, 128)]
    [TestCase(1, 100)]
    [TestCase(1, 2048)]
    [TestCase(1, 2)]
    public void Options_OutOfRange_AreRejected(int queues, int queueSize)
    {
        BlkDeviceOptions o = new() { Path = _path, NumQueues = queues, QueueSize = queueSize };
        Assert.That(o.Validate(), Is.Not.Null);
        Assert.Throws<ArgumentException>(() => _ = new BlkDevice(o));
    }

    [Test]
    public void Options_LongSerial_IsRejected()
    {
        BlkDeviceOptions o = new() { Path = _path, Serial = new string('x', 21) };
        Assert.That(o.Validate(), Does.Contain("serial"));
    }

    [Test]
    public void Open_MissingFile_Throws_Directory_Throws()
    {
        Assert.Throws<VirtioLoopback.Sys.SysException>(() => _ = new BlkDevice(new BlkDeviceOptions { Path = _path + ".missing" }));
        Assert.Throws<IOException>(() => _ = new BlkDevice(new BlkDeviceOptions { Path = Path.GetTempPath() }));
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
