// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>
/// <c>--fd N</c> with a listening socket, as systemd passes it to a socket-activated service
/// (<c>vhost-user-*@.socket</c>): the back end serves one front end after another on it, leaves the
/// socket file alone, and a front end that connected while no back end ran is served by the next one.
/// </summary>
[TestFixture]
[CancelAfter(30000)]
public sealed class SocketActivationTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "activation-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>A duplicate of the listener's fd, owned by nobody: what systemd hands over as fd 3.</summary>
    private static int InheritedFd(UnixSocket listener)
    {
        using FileDescriptor dup = listener.Handle.Duplicate();
        int fd = dup.DangerousFd;
        dup.SetHandleAsInvalid();
        return fd;
    }

    [Test]
    public void IsListening_TellsListenersFromConnectedSockets()
    {
        using UnixSocket listener = UnixSocket.Listen(Path.Combine(_dir, "sock"));
        (UnixSocket a, UnixSocket b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            Assert.That(listener.IsListening, Is.True);
            Assert.That(a.IsListening, Is.False);
        }
    }

    [Test]
    public void Server_WithAnInheritedListeningFd_ServesFrontEndsInTurn_AndKeepsTheSocketFile()
    {
        string path = Path.Combine(_dir, "sock");
        using UnixSocket systemd = UnixSocket.Listen(path);
        var device = new FakeDevice();
        using var server = new BackendServer(device, new BackendOptions { Fd = InheritedFd(systemd) }, NullLoggerFactory.Instance);
        int exit = -1;
        var thread = new Thread(() => exit = server.Serve()) { IsBackground = true };
        thread.Start();

        using (var first = VhostUserFrontend.Connect(path, TimeSpan.FromSeconds(5)))
        {
            Assert.That(first.GetFeatures() & ProtocolFeatureBits.VhostUserFProtocolFeatures, Is.Not.Zero);
        }

        Assert.That(Wait.Until(() => device.ResetCount == 1), Is.True, "disconnect resets the device");
        Assert.That(thread.IsAlive, Is.True, "a listening fd is not served once: the back end waits for the next front end");

        using (var second = VhostUserFrontend.Connect(path, TimeSpan.FromSeconds(5)))
        {
            second.SetProtocolFeatures(ProtocolFeatures.ReplyAck | ProtocolFeatures.Mq);
            Assert.That(second.GetQueueNum(), Is.EqualTo(2));
        }

        server.RequestShutdown();
        Assert.That(thread.Join(5000), Is.True);
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(File.Exists(path), Is.True, "the socket file belongs to systemd, not to the back end");
    }

    [Test]
    public void FrontEndThatConnectedWhileNoBackEndRan_IsServedByTheNextOne()
    {
        // A restart under socket activation: the listener outlives the back-end process, and a
        // front end reconnecting in between waits in the backlog instead of failing.
        string path = Path.Combine(_dir, "sock");
        using UnixSocket systemd = UnixSocket.Listen(path);
        using UnixSocket early = UnixSocket.Connect(path);

        var device = new FakeDevice();
        using var server = new BackendServer(device, new BackendOptions { Fd = InheritedFd(systemd) }, NullLoggerFactory.Instance);
        var thread = new Thread(() => server.Serve()) { IsBackground = true };
        thread.Start();
        using (var frontend = new VhostUserFrontend(early))
        {
            Assert.That(frontend.GetProtocolFeatures(), Is.Not.EqualTo(ProtocolFeatures.None));
        }

        server.RequestShutdown();
        Assert.That(thread.Join(5000), Is.True);
    }
}
