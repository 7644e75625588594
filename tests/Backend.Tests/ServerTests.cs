// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using VirtioLoopback.Hosting;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class ServerTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "backend-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Server_AcceptsANewFrontEndAfterAFramingError_AndResetsTheDevice()
    {
        string path = Path.Combine(_dir, "sock");
        var device = new FakeDevice();
        using var server = new BackendServer(device, new BackendOptions { SocketPath = path }, NullLoggerFactory.Instance);
        int exit = -1;
        var thread = new Thread(() => exit = server.Serve()) { IsBackground = true };
        thread.Start();

        using (var first = VhostUserFrontend.Connect(path, TimeSpan.FromSeconds(5)))
        {
            Assert.That(first.GetFeatures() & ProtocolFeatureBits.VhostUserFProtocolFeatures, Is.Not.Zero);
        }

        Assert.That(Wait.Until(() => device.ResetCount == 1), Is.True, "disconnect resets the device");

        // A second front end speaks garbage: the server drops it...
        using (var socket = UnixSocket.Connect(path))
        {
            Span<byte> raw = stackalloc byte[VhostUserHeader.Size];
            new VhostUserHeader(1, 0x3, 0).Write(raw);
            socket.Send(raw, default);
            Span<byte> buffer = stackalloc byte[16];
            Assert.That(socket.WaitReadable(5000), Is.True);
            Assert.That(socket.ReceiveExact(buffer), Is.EqualTo(0), "closed by the server");
        }

        // ...and the next one is served.
        using (var third = VhostUserFrontend.Connect(path, TimeSpan.FromSeconds(5)))
        {
            third.SetProtocolFeatures(ProtocolFeatures.ReplyAck | ProtocolFeatures.Mq);
            Assert.That(third.GetQueueNum(), Is.EqualTo(2));
        }

        server.RequestShutdown();
        Assert.That(thread.Join(5000), Is.True);
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(File.Exists(path), Is.False, "the socket file is removed at shutdown");
    }

    [Test]
    public void Server_ShutdownWhileConnected_StopsTheRings()
    {
        string path = Path.Combine(_dir, "sock");
        var device = new FakeDevice();
        using var server = new BackendServer(device, new BackendOptions { SocketPath = path }, NullLoggerFactory.Instance);
        var thread = new Thread(() => server.Serve()) { IsBackground = true };
        thread.Start();
        using var front = VhostUserFrontend.Connect(path, TimeSpan.FromSeconds(5));
        using var memory = new TestDriver.TestGuestMemory();
        using var kick = EventFd.Create();
        front.SetProtocolFeatures(front.GetProtocolFeatures());
        front.SetFeatures(front.GetFeatures());
        front.SetMemTable(new[] { (new MemoryRegion(memory.Gpa, memory.Size, memory.UserAddr, 0), memory.Fd) });
        var queue = new TestDriver.DriverQueue(memory, 8);
        front.SetVringNum(0, 8);
        front.SetVringAddr(BackendHarness.AddressOf(0, queue));
        front.SetVringBase(0, 0);
        front.SetVringKick(0, kick.Handle);
        Assert.That(device.CountCalls("start0"), Is.EqualTo(1));

        server.RequestShutdown();
        Assert.That(thread.Join(5000), Is.True);
        Assert.That(device.CountCalls("stop0"), Is.EqualTo(1));
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void Server_WithAnInheritedFd_ServesItOnce()
    {
        (UnixSocket front, UnixSocket back) = UnixSocket.CreatePair();
        int fd;
        using (FileDescriptor dup = back.Handle.Duplicate())
        {
            fd = dup.DangerousFd;
            dup.SetHandleAsInvalid();
        }

        back.Dispose();
        var device = new FakeDevice();
        using var server = new BackendServer(device, new BackendOptions { Fd = fd }, NullLoggerFactory.Instance);
        int exit = -1;
        var thread = new Thread(() => exit = server.Serve()) { IsBackground = true };
        thread.Start();
        using (var frontend = new VhostUserFrontend(front))
        {
            Assert.That(frontend.GetProtocolFeatures(), Is.Not.EqualTo(ProtocolFeatures.None));
        }

        Assert.That(thread.Join(5000), Is.True, "the server returns when its only front end leaves");
        Assert.That(exit, Is.EqualTo(0));
    }

    [Test]
    public void Run_WithAnUnusableSocketPath_ReturnsTheFailureCode()
    {
        string path = Path.Combine(_dir, "no-such-dir", "sock");
        var options = new ProgramOptions(new BackendOptions { SocketPath = path });
        Assert.That(BackendHost.Run(new FakeDevice(), options, loggerFactory: NullLoggerFactory.Instance), Is.EqualTo(BackendCommandLine.ExitFailure));
    }
}
