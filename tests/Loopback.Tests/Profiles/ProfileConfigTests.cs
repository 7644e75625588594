// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.Loopback.Profiles;

namespace VirtioLoopback.Tests.Profiles;

/// <summary>
/// Each profile's config bytes against the layouts of the virtio spec (1.3, chapter 5), written
/// out byte by byte here rather than through the profile's own constants.
/// </summary>
[TestFixture]
public class ProfileConfigTests
{
    [Test]
    public void Fs_TagThenNumRequestQueues()
    {
        // struct virtio_fs_config { u8 tag[36]; le32 num_request_queues; }
        var fs = (FsProfile)Configured("fs", "--tag", "myfs", "--num-request-queues", "3");
        byte[] config = Build(fs, backendFeatures: 0, backendQueues: null, out uint queues);
        var expected = new byte[40];
        "myfs"u8.CopyTo(expected);
        expected[36] = 3;
        Assert.Multiple(() =>
        {
            Assert.That(config, Is.EqualTo(expected));
            Assert.That(queues, Is.EqualTo(4u), "hiprio + 3 request queues");
        });
    }

    [Test]
    public void Fs_A36ByteTagFillsTheFieldWithoutTerminator()
    {
        string tag = new('t', 36);
        byte[] config = Build(Configured("fs", "--tag", tag), 0, null, out _);
        Assert.That(config[..36], Is.All.EqualTo((byte)'t'));
        Assert.That(config[36..], Is.EqualTo(new byte[] { 1, 0, 0, 0 }));
    }

    [Test]
    public void Fs_TagLengthCountsUtf8Bytes()
    {
        Assert.That(DeviceProfiles.Create("fs")!.SetOption("--tag", new string('é', 18)), Is.Null, "36 bytes");
        Assert.That(DeviceProfiles.Create("fs")!.SetOption("--tag", new string('é', 19)), Is.EqualTo($"--tag: expected 1 to 36 bytes, not 38 ('{new string('é', 19)}')"));
    }

    [Test]
    public void Fs_WithholdsNotificationAndNeedsEnoughBackendQueues()
    {
        DeviceProfile fs = Configured("fs", "--tag", "x", "--num-request-queues", "2");
        Assert.That(fs.OfferedFeatures(0b11, false), Is.EqualTo(0b10UL), "VIRTIO_FS_F_NOTIFICATION (bit 0) withheld");
        Assert.That(() => fs.QueueCount(2, new byte[40], 0), Throws.InvalidOperationException.With.Message.Contains("needs 3 queues; the back end has 2"));
        Assert.That(fs.QueueCount(3, new byte[40], 0), Is.EqualTo(3u));
    }

    [Test]
    public void Net_MacStatusPairsMtu()
    {
        // struct virtio_net_config { u8 mac[6]; le16 status; le16 max_virtqueue_pairs; le16 mtu; ... }
        DeviceProfile net = Configured("net", "--mac", "52:54:00:ab:cd:EF", "--mtu", "9000");
        ulong backend = 1UL << 3; // the back end's VIRTIO_NET_F_MTU
        byte[] config = Build(net, backend, backendQueues: 4, out uint queues);
        Assert.Multiple(() =>
        {
            Assert.That(config, Is.EqualTo(new byte[] { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 1, 0, 1, 0, 0x28, 0x23 }));
            Assert.That(queues, Is.EqualTo(2u), "one rx/tx pair whatever the back end's MQ: MQ needs the control queue");
        });
    }

    [Test]
    public void Net_OffersMacStatusMtuAndWithholdsTheControlQueueFamily()
    {
        DeviceProfile net = Configured("net", "--mac", "02:00:00:00:00:01", "--mtu", "1500");
        ulong offered = net.OfferedFeatures(ulong.MaxValue, backendHasConfig: false);
        int[] control = [2, 17, 18, 19, 20, 21, 22, 23, 50, 52, 53, 57, 60];
        Assert.Multiple(() =>
        {
            foreach (int bit in control)
            {
                Assert.That(offered & (1UL << bit), Is.Zero, $"bit {bit} needs the control queue");
            }

            Assert.That(offered & (1UL << 62), Is.Zero, "STANDBY");
            Assert.That(offered & (1UL << 63), Is.Zero, "SPEED_DUPLEX (speed and duplex are not filled)");
            Assert.That(offered & ((1UL << 3) | (1UL << 5) | (1UL << 16)), Is.EqualTo((1UL << 3) | (1UL << 5) | (1UL << 16)), "MTU, MAC, STATUS");
            Assert.That(offered & 0b11, Is.EqualTo(0b11UL), "CSUM and GUEST_CSUM are the back end's");
        });
    }

    [Test]
    public void Net_WithoutMacOrMtu_OffersNeitherAndLeavesThemZero()
    {
        DeviceProfile net = Configured("net");
        ulong offered = net.OfferedFeatures((1UL << 5) | (1UL << 3) | 1, false);
        byte[] config = Build(net, (1UL << 5) | (1UL << 3) | 1, null, out _);
        Assert.Multiple(() =>
        {
            Assert.That(offered, Is.EqualTo(1UL | (1UL << 16)), "a back end's MAC/MTU bits mean nothing without the front end's fields");
            Assert.That(config, Is.EqualTo(new byte[] { 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0 }));
        });
    }

    [Test]
    public void Net_MtuNeedsTheBackendsMtuFeature()
    {
        DeviceProfile net = Configured("net", "--mtu", "1500");
        Assert.That(() => net.OfferedFeatures(0, false), Throws.InvalidOperationException.With.Message.EqualTo("--mtu: the back end does not offer VIRTIO_NET_F_MTU"));
    }

    [TestCase("52:54:00:12:34", "--mac: expected six hex octets like 52:54:00:12:34:56, not '52:54:00:12:34'")]
    [TestCase("52:54:00:12:34:5g", "--mac: expected six hex octets like 52:54:00:12:34:56, not '52:54:00:12:34:5g'")]
    [TestCase("5254:00:12:34:56", "--mac: expected six hex octets like 52:54:00:12:34:56, not '5254:00:12:34:56'")]
    [TestCase("01:00:5e:00:00:01", "--mac: 01:00:5e:00:00:01 is a multicast address; a device needs a unicast one")]
    [TestCase("00:00:00:00:00:00", "--mac: 00:00:00:00:00:00 is not an address")]
    public void Net_BadMac(string mac, string error) => Assert.That(DeviceProfiles.Create("net")!.SetOption("--mac", mac), Is.EqualTo(error));

    [Test]
    public void Net_MacWithDashes() => Assert.That(Build(Configured("net", "--mac", "02-11-22-33-44-55"), 0, null, out _)[..6], Is.EqualTo(new byte[] { 2, 0x11, 0x22, 0x33, 0x44, 0x55 }));

    [Test]
    public void Vsock_GuestCidIsTheFrontEnds()
    {
        // struct virtio_vsock_config { le64 guest_cid; }
        DeviceProfile vsock = Configured("vsock", "--guest-cid", "4294967294");
        byte[] config = Build(vsock, 0, null, out uint queues);
        Assert.Multiple(() =>
        {
            Assert.That(vsock.BackendConfig, Is.EqualTo(BackendConfig.None));
            Assert.That(config, Is.EqualTo(new byte[] { 0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0 }));
            Assert.That(queues, Is.EqualTo(3u), "rx, tx, event");
        });
    }

    [Test]
    public void Vsock_WithoutGuestCid_TheBackEndsMustBeAGuestCid()
    {
        DeviceProfile vsock = Configured("vsock");
        Assert.That(vsock.BackendConfig, Is.EqualTo(BackendConfig.Required));
        Assert.That(vsock.QueueCount(null, new byte[] { 3, 0, 0, 0, 0, 0, 0, 0 }, 0), Is.EqualTo(3u));
        Assert.That(() => vsock.QueueCount(null, new byte[] { 2, 0, 0, 0, 0, 0, 0, 0 }, 0), Throws.InvalidOperationException.With.Message.Contains("guest_cid 2 is not a guest CID"));
        Assert.That(() => vsock.QueueCount(null, new byte[] { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 }, 0), Throws.InvalidOperationException);
    }

    [TestCase("2", "--guest-cid: expected 3 to 4294967294, not '2'")]
    [TestCase("4294967295", "--guest-cid: expected 3 to 4294967294, not '4294967295'")]
    [TestCase("-3", "--guest-cid: expected 3 to 4294967294, not '-3'")]
    public void Vsock_BadGuestCid(string cid, string error) => Assert.That(DeviceProfiles.Create("vsock")!.SetOption("--guest-cid", cid), Is.EqualTo(error));

    [Test]
    public void Console_WithoutBackendConfig_WithholdsSizeMultiportEmergWrite()
    {
        DeviceProfile console = Configured("console");
        ulong offered = console.OfferedFeatures(0b1111, backendHasConfig: false);
        Assert.Multiple(() =>
        {
            Assert.That(offered, Is.EqualTo(0b1000UL));
            Assert.That(console.ConfigSize(offered), Is.Zero);
            Assert.That(console.QueueCount(null, [], offered), Is.EqualTo(2u), "port 0's receiveq and transmitq");
        });
    }

    [Test]
    public void Console_Multiport_QueuesFromMaxNrPorts()
    {
        // struct virtio_console_config { le16 cols; le16 rows; le32 max_nr_ports; le32 emerg_wr; }
        DeviceProfile console = Configured("console");
        ulong offered = console.OfferedFeatures(0b010, backendHasConfig: true);
        byte[] config = [80, 0, 25, 0, 4, 0, 0, 0, 0, 0, 0, 0];
        Assert.Multiple(() =>
        {
            Assert.That(console.ConfigSize(offered), Is.EqualTo(12));
            Assert.That(console.BackendConfig, Is.EqualTo(BackendConfig.Optional));
            Assert.That(console.QueueCount(null, config, offered), Is.EqualTo(10u), "port 0, control, ports 1-3: five pairs");
        });
        config[4] = 32;
        Assert.That(() => console.QueueCount(null, config, offered), Throws.InvalidOperationException.With.Message.Contains("max_nr_ports 32"));
    }

    [TestCase(0UL, 60)]
    [TestCase(1UL << 23, 72)]
    [TestCase((1UL << 23) | (1UL << 17), 96)]
    public void Blk_ConfigSizeFollowsFeatures(ulong features, int size) => Assert.That(DeviceProfiles.Create("blk")!.ConfigSize(features), Is.EqualTo(size));

    [Test]
    public void Blk_NumQueuesIsTheDevicesQueueCount()
    {
        // struct virtio_blk_config: le16 num_queues at 34, valid with VIRTIO_BLK_F_MQ (12).
        DeviceProfile blk = Configured("blk", "--num-queues", "2");
        byte[] config = new byte[60];
        config[34] = 8; // the back end's own count
        uint queues = blk.QueueCount(8, config, 1UL << 12);
        blk.WriteFrontendConfig(config, 1UL << 12, queues);
        Assert.That((queues, config[34], config[35]), Is.EqualTo((2u, (byte)2, (byte)0)));
        Assert.That(blk.BackendConfig, Is.EqualTo(BackendConfig.Required));
        Assert.That(() => Configured("blk", "--num-queues", "4").QueueCount(2, config, 0), Throws.InvalidOperationException);
        Assert.That(Configured("blk").QueueCount(3, config, 0), Is.EqualTo(3u), "the back end's MQ count");
        Assert.That(Configured("blk").QueueCount(null, config, 0), Is.EqualTo(1u));
    }

    [Test]
    public void FixedCountTypes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Shape("rng"), Is.EqualTo((0, 1u, BackendConfig.None, 256u)));
            Assert.That(Shape("input"), Is.EqualTo((136, 2u, BackendConfig.Required, 256u)));
            Assert.That(Shape("gpio"), Is.EqualTo((8, 2u, BackendConfig.Required, 256u)), "struct virtio_gpio_config: le16 ngpio, u8 padding[2], le32 gpio_names_size");
            Assert.That(Shape("i2c"), Is.EqualTo((0, 1u, BackendConfig.None, 256u)));
            Assert.That(Shape("scmi"), Is.EqualTo((0, 2u, BackendConfig.None, 256u)));
            Assert.That(Shape("sound"), Is.EqualTo((12, 4u, BackendConfig.Required, 256u)), "struct virtio_snd_config: le32 jacks, streams, chmaps");
            Assert.That(DeviceProfiles.Create("sound")!.ConfigSize(1), Is.EqualTo(16), "le32 controls with VIRTIO_SND_F_CTLS");
            Assert.That(() => DeviceProfiles.Create("input")!.QueueCount(1, new byte[136], 0), Throws.InvalidOperationException.With.Message.EqualTo("device input needs 2 queues; the back end has 1"));
        });
    }

    [Test]
    public void Raw_ConfigFromHexOrFileOrBackend()
    {
        DeviceProfile hex = Configured("36", "--config", "0x0102fF", "--num-queues", "3");
        Assert.Multiple(() =>
        {
            Assert.That(hex, Is.TypeOf<RawProfile>());
            Assert.That(hex.DeviceId, Is.EqualTo(36u));
            Assert.That(Build(hex, 0, null, out uint queues), Is.EqualTo(new byte[] { 1, 2, 0xff }));
            Assert.That(queues, Is.EqualTo(3u));
            Assert.That(hex.BackendConfig, Is.EqualTo(BackendConfig.None));
        });

        string file = System.IO.Path.GetTempFileName();
        try
        {
            System.IO.File.WriteAllBytes(file, [9, 8, 7, 6]);
            Assert.That(Build(Configured("200", "--config-file", file), 0, 2, out uint queues), Is.EqualTo(new byte[] { 9, 8, 7, 6 }));
            Assert.That(queues, Is.EqualTo(2u), "the back end's MQ count");
        }
        finally
        {
            System.IO.File.Delete(file);
        }

        DeviceProfile fromBackend = Configured("200", "--config-size", "24");
        Assert.That((fromBackend.BackendConfig, fromBackend.ConfigSize(0)), Is.EqualTo((BackendConfig.Required, 24)));
        Assert.That(DeviceProfiles.Create("200")!.ConfigSize(0), Is.Zero, "no config given: none");
    }

    [TestCase("--config", "123", "--config: expected an even number of hex digits (up to 256 bytes), not '123'")]
    [TestCase("--config", "zz", "--config: expected an even number of hex digits (up to 256 bytes), not 'zz'")]
    [TestCase("--config-file", "/nonexistent/x", "--config-file: cannot read /nonexistent/x: Could not find a part of the path '/nonexistent/x'.")]
    [TestCase("--config-size", "257", "--config-size: expected 1 to 256, not '257'")]
    [TestCase("--num-queues", "0", "--num-queues: expected 1 to 64, not '0'")]
    public void Raw_BadOptions(string option, string value, string error) => Assert.That(DeviceProfiles.Create("99")!.SetOption(option, value), Is.EqualTo(error));

    [Test]
    public void Raw_TooLongHexIsRefused() =>
        Assert.That(DeviceProfiles.Create("99")!.SetOption("--config", new string('a', 514)), Is.EqualTo("--config: 257 bytes; a config space has 1 to 256"));

    [Test]
    public void Raw_OneConfigSourceOnly()
    {
        DeviceProfile raw = DeviceProfiles.Create("99")!;
        Assert.That(raw.SetOption("--config", "00"), Is.Null);
        Assert.That(raw.SetOption("--config-size", "4"), Is.Null);
        Assert.That(raw.Validate(), Is.EqualTo("--config, --config-file and --config-size exclude each other"));
    }

    [TestCase("net", 1u, typeof(NetProfile))]
    [TestCase("1", 1u, typeof(NetProfile))]
    [TestCase("26", 26u, typeof(FsProfile))]
    [TestCase("fs", 26u, typeof(FsProfile))]
    [TestCase("19", 19u, typeof(VsockProfile))]
    [TestCase("3", 3u, typeof(ConsoleProfile))]
    [TestCase("25", 25u, typeof(SoundProfile))]
    [TestCase("32", 32u, typeof(ScmiProfile))]
    [TestCase("34", 34u, typeof(I2cProfile))]
    [TestCase("41", 41u, typeof(GpioProfile))]
    [TestCase("36", 36u, typeof(RawProfile))]
    [TestCase("255", 255u, typeof(RawProfile))]
    public void Registry_NamesAndIds(string type, uint id, Type profile)
    {
        DeviceProfile p = DeviceProfiles.Create(type)!;
        Assert.That((p.DeviceId, p.GetType()), Is.EqualTo((id, profile)));
    }

    [TestCase("0")]
    [TestCase("256")]
    [TestCase("disk")]
    [TestCase("raw")]
    [TestCase("")]
    public void Registry_RefusesOtherNames(string type) => Assert.That(DeviceProfiles.Create(type), Is.Null);

    private static DeviceProfile Configured(string type, params string[] options)
    {
        DeviceProfile p = DeviceProfiles.Create(type) ?? throw new AssertionException($"no profile {type}");
        for (int i = 0; i < options.Length; i += 2)
        {
            Assert.That(p.SetOption(options[i], options[i + 1]), Is.Null, $"{options[i]} {options[i + 1]}");
        }

        Assert.That(p.Validate(), Is.Null);
        return p;
    }

    /// <summary>The adapter's sequence for a back end without a config space.</summary>
    private static byte[] Build(DeviceProfile p, ulong backendFeatures, ulong? backendQueues, out uint queues)
    {
        ulong offered = p.OfferedFeatures(backendFeatures, backendHasConfig: false);
        var config = new byte[p.ConfigSize(offered)];
        queues = p.QueueCount(backendQueues, config, offered);
        p.WriteFrontendConfig(config, offered, queues);
        return config;
    }

    private static (int ConfigSize, uint Queues, BackendConfig Source, uint QueueSize) Shape(string type)
    {
        DeviceProfile p = DeviceProfiles.Create(type)!;
        int size = p.ConfigSize(0);
        return (size, p.QueueCount(null, new byte[size], 0), p.BackendConfig, p.DefaultQueueSize);
    }
}
