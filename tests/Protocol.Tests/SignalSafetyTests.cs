// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

/// <summary>
/// The Sys calls that block (poll, epoll_wait, recvmsg, sendmsg), each on a thread that gets
/// SIGUSR1, SIGHUP and SIGCHLD every millisecond: nothing may fail, lose bytes, or miss its deadline.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(60000)]
public sealed class SignalSafetyTests
{
    private IDisposable? _handlers;

    [OneTimeSetUp]
    public void InstallHandlers() => _handlers = SignalStorm.InstallHandlers();

    [OneTimeTearDown]
    public void RemoveHandlers() => _handlers?.Dispose();

    [Test]
    public void WaitReadable_Timeout_HoldsUnderASignalStorm()
    {
        (UnixSocket a, UnixSocket b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            (bool ready, TimeSpan took) = RunStormed(() => b.WaitReadable(300));
            Assert.That(ready, Is.False, "nothing was sent");
            Assert.That(took, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)).And.LessThan(TimeSpan.FromMilliseconds(1500)), "EINTR must neither end the wait early nor restart its timeout");
        }
    }

    [Test]
    public void WaitReadable_SeesDataThatComesDuringASignalStorm()
    {
        (UnixSocket a, UnixSocket b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            using Timer sender = new(_ => a.Send([1, 2, 3], default), null, 200, Timeout.Infinite);
            (bool ready, TimeSpan took) = RunStormed(() => b.WaitReadable(5000));
            Assert.That(ready, Is.True);
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(3)));
        }
    }

    [Test]
    public void EpollWait_Timeout_HoldsUnderASignalStorm()
    {
        using Epoll epoll = Epoll.Create();
        using EventFd idle = EventFd.Create();
        epoll.Add(idle.Handle, EpollEvents.In, 7);
        EpollEvent[] events = new EpollEvent[4];
        (int n, TimeSpan took) = RunStormed(() => epoll.Wait(events, 300));
        Assert.That(n, Is.Zero);
        Assert.That(took, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)).And.LessThan(TimeSpan.FromMilliseconds(1500)), "EINTR must not restart the timeout");
    }

    [Test]
    public void Receive_BlockedInRecvmsg_GetsTheWholeMessageAndItsFds()
    {
        (UnixSocket a, UnixSocket b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        using (EventFd passed = EventFd.Create())
        {
            using Timer sender = new(_ => a.Send([9, 8, 7, 6], [passed.Handle]), null, 200, Timeout.Infinite);
            List<FileDescriptor> fds = new();
            (int n, _) = RunStormed(() => b.Receive(new byte[16], fds));
            Assert.That(n, Is.EqualTo(4));
            Assert.That(fds, Has.Count.EqualTo(1));
            Assert.That(EventFd.IsEventFd(fds[0]), Is.True);
            fds[0].Dispose();
        }
    }

    [Test]
    public void Send_BlockedInSendmsg_DeliversEveryByte()
    {
        (UnixSocket a, UnixSocket b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            // Far more than the socket buffer holds: the sender blocks until the reader catches up.
            byte[] data = new byte[4 << 20];
            new Random(5).NextBytes(data);
            byte[] received = new byte[data.Length];
            Thread reader = new(() =>
            {
                Thread.Sleep(200);
                int got = 0;
                while (got < received.Length)
                {
                    int n = b.ReceiveExact(received.AsSpan(got, Math.Min(64 << 10, received.Length - got)));
                    if (n == 0)
                    {
                        return;
                    }

                    got += n;
                    Thread.Sleep(1);
                }
            });
            reader.Start();
            (int sent, _) = RunStormed(() => a.Send(data, default));
            Assert.That(reader.Join(TimeSpan.FromSeconds(30)), Is.True);
            Assert.That(sent, Is.EqualTo(data.Length));
            Assert.That(SHA256.HashData(received), Is.EqualTo(SHA256.HashData(data)));
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/> on a thread of its own while every millisecond a signal hits
    /// that thread; fails the test if it throws or does not return within 20 s.
    /// </summary>
    private static (T Result, TimeSpan Took) RunStormed<T>(Func<T> call)
    {
        T result = default!;
        Exception? failure = null;
        int tid = 0;
        using ManualResetEventSlim started = new();
        Stopwatch clock = new();
        Thread worker = new(() =>
        {
            tid = SignalStorm.CurrentThreadId();
            started.Set();
            Thread.Sleep(20);
            clock.Start();
            try
            {
                result = call();
            }
            catch (Exception e)
            {
                failure = e;
            }

            clock.Stop();
        })
        { IsBackground = true, Name = "stormed" };
        worker.Start();
        started.Wait();
        using (SignalStorm storm = SignalStorm.AtThreads([tid]))
        {
            bool returned = worker.Join(TimeSpan.FromSeconds(20));
            Assert.That(storm.Sent, Is.GreaterThan(10), "the storm reached the thread");
            Assert.That(returned, Is.True, "the call did not return within 20 s under the storm");
        }

        Assert.That(failure, Is.Null, () => $"the call failed under the storm: {failure}");
        return (result, clock.Elapsed);
    }
}
