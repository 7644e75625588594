// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.Loopback;
using VirtioLoopback.Loopback.Profiles;

namespace VirtioLoopback.Tests;

/// <summary>The adapter's command line: devices, their sizes, and one clear error per mistake.</summary>
[TestFixture]
public class AdapterOptionsTests
{
    [Test]
    public void OneDevice()
    {
        AdapterOptions? o = AdapterOptions.Parse(["--socket-path", "/run/blk.sock", "--device", "blk", "--pool-size=16", "--log-level", "debug"], out string? error);
        Assert.That(error, Is.Null);
        Assert.That(o!.Devices, Has.Count.EqualTo(1));
        LoopbackDeviceOptions d = o.Devices[0].DeviceOptions;
        Assert.Multiple(() =>
        {
            Assert.That(o.Devices[0].SocketPath, Is.EqualTo("/run/blk.sock"));
            Assert.That(d.DeviceId, Is.EqualTo(LoopbackDeviceOptions.BlockId));
            Assert.That(d.MaxQueueSize, Is.EqualTo(128u), "blk's default");
            Assert.That(d.PoolSize, Is.EqualTo(16UL << 20));
            Assert.That(d.Profile, Is.TypeOf<BlkProfile>());
            Assert.That(o.LogLevel, Is.EqualTo(LogLevel.Debug));
        });
    }

    [Test]
    public void SeveralDevices_EachWithItsOwnSizes()
    {
        AdapterOptions? o = AdapterOptions.Parse(
        [
            "--socket-path", "/a", "--device", "blk", "--queue-size", "64",
            "--device", "rng", "--socket-path", "/b",
            "--socket-path", "/c", "--device", "18", "--pool-size", "2",
            "--socket-path", "/d", "--num-queues", "2", "--device", "2",
        ], out string? error);
        Assert.That(error, Is.Null);
        Assert.That(o!.Devices, Has.Count.EqualTo(4));
        Assert.Multiple(() =>
        {
            Assert.That(o.Devices[0].DeviceOptions.MaxQueueSize, Is.EqualTo(64u));
            Assert.That((o.Devices[1].SocketPath, o.Devices[1].DeviceId), Is.EqualTo(("/b", LoopbackDeviceOptions.RngId)));
            Assert.That(o.Devices[1].DeviceOptions.MaxQueueSize, Is.EqualTo(256u));
            Assert.That(o.Devices[2].DeviceId, Is.EqualTo(LoopbackDeviceOptions.InputId));
            Assert.That(o.Devices[2].DeviceOptions.PoolSize, Is.EqualTo(2UL << 20));
            Assert.That(o.Devices[3].DeviceId, Is.EqualTo(LoopbackDeviceOptions.BlockId), "a type option may come before --device");
            Assert.That(o.Devices[3].Profile!.QueueCount(8, new byte[60], 0), Is.EqualTo(2u), "--num-queues 2");
        });
    }

    [TestCase(new string[0], "--socket-path and --device are required")]
    [TestCase(new[] { "--device", "blk" }, "--socket-path is required")]
    [TestCase(new[] { "--socket-path", "/a" }, "--device is required")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--socket-path", "/b" }, "--device is required for device 2")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--socket-path", "/a", "--device", "rng" }, "--socket-path /a is given for two devices (a back end serves one)")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "disk" }, "--device: expected net, blk, console, rng, input, vsock, sound, fs, scmi, i2c, gpio or a virtio device ID from 1 to 255, not 'disk'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "256" }, "--device: expected net, blk, console, rng, input, vsock, sound, fs, scmi, i2c, gpio or a virtio device ID from 1 to 255, not '256'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--queue-size", "100" }, "--queue-size: expected a power of two from 2 to 32768, not '100'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--queue-size", "64", "--queue-size", "32" }, "--queue-size is given twice for one device")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--pool-size", "0" }, "--pool-size: expected MiB from 1 to 256, not '0'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--num-queues", "65" }, "--num-queues: expected 1 to 64, not '65'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--log-level", "loud" }, "--log-level: expected trace, debug, info, warning, error, critical or none, not 'loud'")]
    [TestCase(new[] { "--socket-path", "/a", "--device" }, "--device needs a value")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "fs" }, "device fs needs --tag TAG (the name the guest mounts)")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "26" }, "device fs needs --tag TAG (the name the guest mounts)")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "fs", "--tag", "0123456789abcdef0123456789abcdef01234" }, "--tag: expected 1 to 36 bytes, not 37 ('0123456789abcdef0123456789abcdef01234')")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "fs", "--tag", "a", "--tag", "b" }, "--tag is given twice for one device")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--tag", "a" }, "--tag is not an option of device blk (it is one of fs)")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "rng", "--num-queues", "2" }, "--num-queues is not an option of device rng (it is one of blk, raw)")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "net", "--mac", "52:54:00:12:34" }, "--mac: expected six hex octets like 52:54:00:12:34:56, not '52:54:00:12:34'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "net", "--mtu", "67" }, "--mtu: expected 68 to 65535, not '67'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "vsock", "--guest-cid", "1" }, "--guest-cid: expected 3 to 4294967294, not '1'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "36", "--config", "abc" }, "--config: expected an even number of hex digits (up to 256 bytes), not 'abc'")]
    [TestCase(new[] { "--socket", "/a" }, "unknown option '--socket'")]
    public void BadCommandLines_GiveOneClearError(string[] args, string expected)
    {
        Assert.That(AdapterOptions.Parse(args, out string? error), Is.Null);
        Assert.That(error, Is.EqualTo(expected));
    }

    [Test]
    public void TypeOptions_ReachTheProfile()
    {
        AdapterOptions? o = AdapterOptions.Parse(
        [
            "--socket-path", "/fs.sock", "--device", "fs", "--tag", "share", "--num-request-queues", "2",
            "--socket-path", "/net.sock", "--mac", "52:54:00:12:34:56", "--device", "net",
        ], out string? error);
        Assert.That(error, Is.Null);
        var fs = (FsProfile)o!.Devices[0].Profile!;
        Assert.Multiple(() =>
        {
            Assert.That(fs.Tag.ToArray(), Is.EqualTo("share"u8.ToArray()));
            Assert.That(fs.RequestQueues, Is.EqualTo(2u));
            Assert.That(o.Devices[0].DeviceOptions.MaxQueueSize, Is.EqualTo(128u), "fs's default");
            Assert.That(o.Devices[1].Profile, Is.TypeOf<NetProfile>());
            Assert.That(o.Devices[1].Profile!.OfferedFeatures(0, false) & (1UL << 5), Is.Not.Zero, "--mac offers VIRTIO_NET_F_MAC");
        });
    }

    [Test]
    public void Usage_NamesEveryTypeAndItsOptions()
    {
        foreach (string word in new[] { "net", "blk", "console", "rng", "input", "vsock", "sound", "fs", "scmi", "i2c", "gpio", "raw",
            "--tag TAG", "--num-request-queues N", "--mac MAC", "--mtu N", "--guest-cid N", "--config HEX", "--config-file F", "--config-size N", "--num-queues N" })
        {
            Assert.That(AdapterOptions.Usage, Does.Contain(word));
        }
    }

    [Test]
    public void Help_WinsOverEverythingElse()
    {
        AdapterOptions? o = AdapterOptions.Parse(["--device", "nonsense", "--help"], out string? error);
        Assert.That(error, Is.Not.Null, "an error before --help is still an error");
        o = AdapterOptions.Parse(["--help", "--device", "nonsense"], out error);
        Assert.That(o!.Help, Is.True);
        Assert.That(error, Is.Null);
    }
}
