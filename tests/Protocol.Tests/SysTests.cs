// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using NUnit.Framework;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests;

/// <summary>EventFd, Epoll, TimerFd, FileIo and UnixSocket against the real kernel.</summary>
[TestFixture]
public unsafe class SysTests
{
    [Test]
    public void EventFd_SignalThenRead()
    {
        using EventFd e = EventFd.Create();
        Assert.That(e.TryRead(out _), Is.False, "a fresh eventfd is empty");
        e.Signal();
        e.Signal(4);
        Assert.That(e.TryRead(out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(5ul));
        Assert.That(e.TryRead(out _), Is.False);
    }

    [Test]
    public void EventFd_IsEventFd_TellsAnEventFdFromAMemfd()
    {
        using EventFd e = EventFd.Create();
        using FileDescriptor m = MemFd.Create("plain", 4096);
        Assert.That(EventFd.IsEventFd(e.Handle), Is.True);
        Assert.That(EventFd.IsEventFd(m), Is.False);
    }

    [Test]
    public void MappedMemory_PastTheEndOfAMemfd_IsRefused()
    {
        using FileDescriptor m = MemFd.Create("short", 4096);
        Assert.Throws<SysException>(() => MappedMemory.Map(m, 0, 8192, writable: true));
        Assert.Throws<SysException>(() => MappedMemory.Map(m, 4096, 4096, writable: true));
        using MappedMemory ok = MappedMemory.Map(m, 0, 4096, writable: true);
        Assert.That(ok.Length, Is.EqualTo(4096UL));
    }

    [Test]
    public void EventFd_SemaphoreReadsOneAtATime()
    {
        using EventFd e = EventFd.Create(semaphore: true);
        e.Signal(2);
        Assert.That(e.TryRead(out ulong a) && a == 1, Is.True);
        Assert.That(e.TryRead(out ulong b) && b == 1, Is.True);
        Assert.That(e.TryRead(out _), Is.False);
    }

    [Test]
    public void EventFd_FullCounterIsNotAnError()
    {
        using EventFd e = EventFd.Create();
        e.Signal(ulong.MaxValue - 1); // the maximum counter value
        Assert.DoesNotThrow(() => e.Signal(1)); // EAGAIN: the reader will wake up anyway
    }

    [Test]
    public void Epoll_ReportsTokenOfReadyFd()
    {
        using Epoll epoll = Epoll.Create();
        using EventFd a = EventFd.Create();
        using EventFd b = EventFd.Create();
        epoll.Add(a.Handle, EpollEvents.In, 10);
        epoll.Add(b.Handle, EpollEvents.In, 20);
        Span<EpollEvent> events = stackalloc EpollEvent[4];
        Assert.That(epoll.Wait(events, 0), Is.EqualTo(0));

        b.Signal();
        int n = epoll.Wait(events, 1000);
        Assert.That(n, Is.EqualTo(1));
        Assert.That(events[0].Token, Is.EqualTo(20ul));
        Assert.That(events[0].Events & EpollEvents.In, Is.EqualTo(EpollEvents.In));

        epoll.Modify(b.Handle, EpollEvents.In, 21);
        Assert.That(epoll.Wait(events, 0), Is.EqualTo(1));
        Assert.That(events[0].Token, Is.EqualTo(21ul));

        epoll.Remove(b.Handle);
        Assert.That(epoll.Wait(events, 0), Is.EqualTo(0));
        Assert.Throws<SysException>(() => epoll.Remove(b.Handle));
    }

    [Test]
    public void TimerFd_ExpiresAndDisarms()
    {
        using TimerFd timer = TimerFd.CreateMonotonic();
        Assert.That(timer.TryRead(out _), Is.False);
        using Epoll epoll = Epoll.Create();
        epoll.Add(timer.Handle, EpollEvents.In, 1);
        timer.Arm(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5));
        Span<EpollEvent> events = stackalloc EpollEvent[1];
        Assert.That(epoll.Wait(events, 2000), Is.EqualTo(1));
        Assert.That(timer.TryRead(out ulong expirations), Is.True);
        Assert.That(expirations, Is.GreaterThanOrEqualTo(1ul));
        timer.Disarm();
        timer.TryRead(out _);
        Assert.That(epoll.Wait(events, 30), Is.EqualTo(0), "a disarmed timer stays quiet");
    }

    [Test]
    public void FileIo_VectoredReadWriteAndFallocate()
    {
        string path = Path.GetTempFileName();
        try
        {
            int raw;
            fixed (byte* p = System.Text.Encoding.UTF8.GetBytes(path + "\0"))
            {
                raw = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            }

            Assert.That(raw, Is.GreaterThanOrEqualTo(0));
            using FileDescriptor fd = FileDescriptor.Adopt(raw);
            byte[] a = [1, 2, 3];
            byte[] b = [4, 5];
            fixed (byte* pa = a)
            fixed (byte* pb = b)
            {
                IoVec[] iov = [new((nint)pa, 3), new((nint)pb, 2)];
                Assert.That(FileIo.PWriteV(fd, iov, 4096), Is.EqualTo(5));
            }

            byte[] back = new byte[5];
            Assert.That(FileIo.PRead(fd, back, 4096), Is.EqualTo(5));
            Assert.That(back, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5 }));

            byte[] x = new byte[2];
            byte[] y = new byte[3];
            fixed (byte* px = x)
            fixed (byte* py = y)
            {
                IoVec[] iov = [new((nint)px, 2), new((nint)py, 3)];
                Assert.That(FileIo.PReadV(fd, iov, 4096), Is.EqualTo(5));
            }

            Assert.That(x, Is.EqualTo(new byte[] { 1, 2 }));
            Assert.That(y, Is.EqualTo(new byte[] { 3, 4, 5 }));

            FileIo.PWrite(fd, [9, 9], 0);
            FileIo.FDataSync(fd);
            Assert.That(FileIo.PRead(fd, back, 8192), Is.EqualTo(0), "end of file");
            try
            {
                FileIo.Fallocate(fd, FallocateMode.PunchHole | FallocateMode.KeepSize, 4096, 4096);
                Assert.That(FileIo.PRead(fd, back, 4096), Is.EqualTo(5));
                Assert.That(back, Is.All.EqualTo(0), "a punched hole reads as zeros");
            }
            catch (SysException e) when (e.Errno == 95)
            {
                Assert.Warn("The temp file system cannot punch holes (EOPNOTSUPP).");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void FileIo_GetRandomFillsTheBuffer()
    {
        byte[] a = new byte[600];
        byte[] b = new byte[600];
        FileIo.GetRandom(a);
        FileIo.GetRandom(b);
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(a, Has.Some.Not.EqualTo(0));
    }

    [Test]
    public void UnixSocket_PassesEventFds()
    {
        (UnixSocket left, UnixSocket right) = UnixSocket.CreatePair();
        using (left)
        using (right)
        {
            EventFd[] sent = [EventFd.Create(), EventFd.Create(), EventFd.Create()];
            try
            {
                FileDescriptor[] handles = [sent[0].Handle, sent[1].Handle, sent[2].Handle];
                Assert.That(left.Send("hello"u8, handles), Is.EqualTo(5));

                var received = new List<FileDescriptor>();
                byte[] buffer = new byte[16];
                int n = right.Receive(buffer, received);
                Assert.That(n, Is.EqualTo(5));
                Assert.That(buffer.AsSpan(0, n).SequenceEqual("hello"u8), Is.True);
                Assert.That(received, Has.Count.EqualTo(3));

                // The received fds are new numbers for the same eventfds: signal through one,
                // read through the original.
                Assert.That(received[1].DangerousFd, Is.Not.EqualTo(sent[1].Handle.DangerousFd));
                using (EventFd remote = EventFd.Adopt(received[1]))
                {
                    remote.Signal(7);
                }

                Assert.That(sent[1].TryRead(out ulong value), Is.True);
                Assert.That(value, Is.EqualTo(7ul));
                Assert.That(sent[0].TryRead(out _), Is.False);

                // Close-on-exec was requested with MSG_CMSG_CLOEXEC.
                Assert.That(LibC.fcntl(received[0].DangerousFd, LibC.F_GETFD) & LibC.FD_CLOEXEC, Is.EqualTo(LibC.FD_CLOEXEC));
                received[0].Dispose();
                received[2].Dispose();
            }
            finally
            {
                foreach (EventFd e in sent)
                {
                    e.Dispose();
                }
            }
        }
    }

    [Test]
    public void UnixSocket_NineFdsAreRejectedAndClosed()
    {
        (UnixSocket left, UnixSocket right) = UnixSocket.CreatePair();
        using (left)
        using (right)
        {
            EventFd[] nine = new EventFd[9];
            for (int i = 0; i < nine.Length; i++)
            {
                nine[i] = EventFd.Create();
            }

            try
            {
                Assert.Throws<ArgumentException>(() => left.Send("x"u8, Array.ConvertAll(nine, e => e.Handle)));
                SendRawFds(left, nine);

                var received = new List<FileDescriptor>();
                Assert.Throws<TooManyFdsException>(() => right.Receive(new byte[4], received));
                Assert.That(received, Is.Empty, "the fds that did arrive were closed, not handed out");
            }
            finally
            {
                foreach (EventFd e in nine)
                {
                    e.Dispose();
                }
            }
        }
    }

    [Test]
    public void UnixSocket_ReceiveReturnsZeroAtEndOfStream()
    {
        (UnixSocket left, UnixSocket right) = UnixSocket.CreatePair();
        using (right)
        {
            left.Send("ab"u8, default);
            left.Dispose();
            var fds = new List<FileDescriptor>();
            byte[] buffer = new byte[8];
            Assert.That(right.ReceiveExact(buffer.AsSpan(0, 4)), Is.EqualTo(2), "short: the peer closed");
            Assert.That(right.Receive(buffer, fds), Is.EqualTo(0));
            Assert.That(right.HasPeerHungUp(), Is.True);
        }
    }

    [Test]
    public void UnixSocket_NonBlockingReceiveReportsNothingAvailable()
    {
        (UnixSocket left, UnixSocket right) = UnixSocket.CreatePair();
        using (left)
        using (right)
        {
            right.SetNonBlocking();
            Assert.That(right.Receive(new byte[4], new List<FileDescriptor>()), Is.EqualTo(-1));
            Assert.That(right.WaitReadable(0), Is.False);
            Assert.That(right.HasPeerHungUp(), Is.False);
            left.Send("z"u8, default);
            Assert.That(right.WaitReadable(1000), Is.True);
        }
    }

    [Test]
    public void UnixSocket_ShutdownWakesABlockedReceiver()
    {
        (UnixSocket left, UnixSocket right) = UnixSocket.CreatePair();
        using (left)
        using (right)
        {
            int result = -2;
            var reader = new Thread(() => result = right.Receive(new byte[4], new List<FileDescriptor>()));
            reader.Start();
            Thread.Sleep(50);
            right.Shutdown();
            Assert.That(reader.Join(5000), Is.True);
            Assert.That(result, Is.EqualTo(0));
        }
    }

    [Test]
    public void UnixSocket_ListenAcceptConnect_ReplacesAStaleSocket()
    {
        string path = TestPaths.NewSocketPath();

        // Leave a stale socket file behind, as a crashed back end would.
        UnixSocket stale = UnixSocket.Listen(path);
        stale.Handle.Dispose();
        Assert.That(File.Exists(path), Is.True);

        using (UnixSocket listener = UnixSocket.Listen(path))
        {
            Assert.That(listener.Path, Is.EqualTo(path));
            using UnixSocket client = UnixSocket.Connect(path);
            using UnixSocket server = listener.Accept();
            client.Send("ping"u8, default);
            byte[] buffer = new byte[4];
            Assert.That(server.ReceiveExact(buffer), Is.EqualTo(4));
            Assert.That(buffer, Is.EqualTo("ping"u8.ToArray()));
        }

        Assert.That(File.Exists(path), Is.False, "disposing the listener removes its socket file");
        SysException? e = Assert.Throws<SysException>(() => UnixSocket.Connect(path));
        Assert.That(e!.Errno, Is.EqualTo(LibC.ENOENT));
    }

    [Test]
    public void UnixSocket_ListenRefusesToReplaceARegularFile()
    {
        string path = TestPaths.NewSocketPath();
        File.WriteAllText(path, "data");
        try
        {
            Assert.Throws<IOException>(() => UnixSocket.Listen(path));
            Assert.That(File.ReadAllText(path), Is.EqualTo("data"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void UnixSocket_RejectsOverlongPath() =>
        Assert.Throws<ArgumentException>(() => UnixSocket.Listen("/tmp/" + new string('x', 120)));

    /// <summary>sendmsg with more fds than UnixSocket allows, to provoke MSG_CTRUNC on the receiver.</summary>
    internal static void SendRawFds(UnixSocket socket, EventFd[] fds)
    {
        // CMSG_LEN/CMSG_SPACE by hand for a 64-bit ABI (Tmds.LibC's CMSG_LEN pads the length).
        int payload = sizeof(int) * fds.Length;
        int space = 16 + ((payload + 7) & ~7);
        byte* control = stackalloc byte[space + 8];
        control = (byte*)(((nint)control + 7) & ~7);
        byte data = 0x42;
        iovec iov = default;
        iov.iov_base = &data;
        iov.iov_len = 1;
        msghdr msg = default;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = space;
        cmsghdr* c = LibC.CMSG_FIRSTHDR(&msg);
        c->cmsg_level = LibC.SOL_SOCKET;
        c->cmsg_type = LibC.SCM_RIGHTS;
        c->cmsg_len = 16 + payload;
        int* numbers = (int*)((byte*)c + 16);
        for (int i = 0; i < fds.Length; i++)
        {
            numbers[i] = fds[i].Handle.DangerousFd;
        }

        long n = LibC.sendmsg(socket.Handle.DangerousFd, &msg, 0);
        Assert.That(n, Is.EqualTo(1), "raw sendmsg");
    }
}
