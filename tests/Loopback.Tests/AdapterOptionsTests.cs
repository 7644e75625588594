// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.Loopback;

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
            Assert.That(d.QueueCount, Is.Null);
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
            "--socket-path", "/c", "--device", "18", "--pool-size", "2", "--num-queues", "2",
        ], out string? error);
        Assert.That(error, Is.Null);
        Assert.That(o!.Devices, Has.Count.EqualTo(3));
        Assert.Multiple(() =>
        {
            Assert.That(o.Devices[0].DeviceOptions.MaxQueueSize, Is.EqualTo(64u));
            Assert.That((o.Devices[1].SocketPath, o.Devices[1].DeviceId), Is.EqualTo(("/b", LoopbackDeviceOptions.RngId)));
            Assert.That(o.Devices[1].DeviceOptions.MaxQueueSize, Is.EqualTo(256u));
            Assert.That(o.Devices[2].DeviceId, Is.EqualTo(LoopbackDeviceOptions.InputId));
            Assert.That(o.Devices[2].DeviceOptions.PoolSize, Is.EqualTo(2UL << 20));
            Assert.That(o.Devices[2].DeviceOptions.QueueCount, Is.EqualTo(2u));
        });
    }

    [TestCase(new string[0], "--socket-path and --device are required")]
    [TestCase(new[] { "--device", "blk" }, "--socket-path is required")]
    [TestCase(new[] { "--socket-path", "/a" }, "--device is required")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--socket-path", "/b" }, "--device is required for device 2")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--socket-path", "/a", "--device", "rng" }, "--socket-path /a is given for two devices (a back end serves one)")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "disk" }, "--device: expected rng, blk, input or a virtio device ID from 1 to 255, not 'disk'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "256" }, "--device: expected rng, blk, input or a virtio device ID from 1 to 255, not '256'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--queue-size", "100" }, "--queue-size: expected a power of two from 2 to 32768, not '100'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--queue-size", "64", "--queue-size", "32" }, "--queue-size is given twice for one device")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--pool-size", "0" }, "--pool-size: expected MiB from 1 to 256, not '0'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--num-queues", "65" }, "--num-queues: expected 1 to 64, not '65'")]
    [TestCase(new[] { "--socket-path", "/a", "--device", "blk", "--log-level", "loud" }, "--log-level: expected trace, debug, info, warning, error, critical or none, not 'loud'")]
    [TestCase(new[] { "--socket-path", "/a", "--device" }, "--device needs a value")]
    [TestCase(new[] { "--socket", "/a" }, "unknown option '--socket'")]
    public void BadCommandLines_GiveOneClearError(string[] args, string expected)
    {
        Assert.That(AdapterOptions.Parse(args, out string? error), Is.Null);
        Assert.That(error, Is.EqualTo(expected));
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
