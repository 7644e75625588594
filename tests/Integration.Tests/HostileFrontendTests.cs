// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>
/// Deterministic reproductions of what the fuzzer found: shared memory that is declared larger
/// than the file behind it. Touching a page of a shared mapping past the end of its file raises
/// SIGBUS, so a back end must check the fd's size (fstat) before it maps; otherwise a front end
/// (or a bug in one) kills it.
/// </summary>
[TestFixture]
public sealed class HostileFrontendTests
{
    [Test]
    public void MemoryRegionLargerThanItsFdDoesNotKillTheBackend()
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, Path.Combine(dir, "rng.sock"), "--log-level", "warn");
            using (TestGuestMemory real = new(1 << 20))
            using (FileDescriptor small = MemFd.Create("too-small", 64 << 10))
            using (EventFd kick = EventFd.Create())
            using (EventFd call = EventFd.Create())
            using (VhostUserFrontend f = VhostUserFrontend.Connect(backend.SocketPath, TimeSpan.FromSeconds(30)))
            {
                DriverQueue ring = new(real, 16);
                ulong features = f.GetFeatures();
                f.SetProtocolFeatures(f.GetProtocolFeatures() & ProtocolFeatures.ReplyAck);
                f.SetOwner();
                f.SetFeatures(features);

                // The region claims 1 MiB but its memfd holds 64 KiB; the rings lie past 64 KiB.
                bool refused = Refused(() => f.SetMemTable([(new MemoryRegion(real.Gpa, real.Size, real.UserAddr, 0), small)]));
                f.SetVringNum(0, ring.Size);
                f.SetVringBase(0, 0);
                bool addressRefused = Refused(() => f.SetVringAddr(new VringAddress(0, 0, ring.DescTableUserAddr + (512 << 10), ring.UsedRingUserAddr + (512 << 10), ring.AvailRingUserAddr + (512 << 10), 0)));
                Refused(() => f.SetVringCall(0, call.Handle));
                Refused(() => f.SetVringKick(0, kick.Handle));
                Refused(() => f.SetVringEnable(0, true));
                kick.Signal();
                Refused(() => f.GetFeatures());
                TestContext.Out.WriteLine($"SET_MEM_TABLE refused: {refused}; SET_VRING_ADDR refused: {addressRefused}");
                Assert.That(refused, Is.True, "a region past the end of its fd is refused");
            }

            // A new session is served only after the old one was torn down (its rings stopped):
            // whatever that session's kick could make the back end touch, it has touched by now.
            AssertStillServes(backend);
            Assert.That(backend.IsAlive, Is.True, $"Touching the rings of a region larger than its memfd killed the back end (SIGBUS). Fix: SET_MEM_TABLE/ADD_MEM_REG must fstat each fd and refuse regions with mmap_offset + memory_size past its end.\n{backend.Describe()}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void InflightAreaLargerThanItsFdDoesNotKillTheBackend()
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            string image = BlkWire.CreateImage(dir, 1 << 20);
            using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Blk, Path.Combine(dir, "blk.sock"), "--blk-file", image, "--num-queues", "2", "--log-level", "warn");
            bool refused;

            // The area for two queues of 128 needs more than the 4 KiB file holds.
            using (FileDescriptor small = MemFd.Create("inflight-too-small", 4096))
            {
                HarnessOptions options = new() { QueueCount = 2, WantedProtocolFeatures = new HarnessOptions().WantedProtocolFeatures | ProtocolFeatures.InflightShmfd };
                using FrontendHarness h = FrontendHarness.Attach(backend, options, connect: false);
                VhostUserFrontend f = VhostUserFrontend.Connect(backend.SocketPath, TimeSpan.FromSeconds(30));
                try
                {
                    f.SetProtocolFeatures(f.GetProtocolFeatures() & (ProtocolFeatures.ReplyAck | ProtocolFeatures.InflightShmfd | ProtocolFeatures.Mq));
                    f.SetOwner();
                    refused = Refused(() => f.SetInflightFd(small, 64 << 10, 0, 2, 128));
                    f.SetFeatures(f.GetFeatures());
                    f.SetMemTable([(new MemoryRegion(h.Memory.Gpa, h.Memory.Size, h.Memory.UserAddr, 0), h.Memory.Fd)]);
                    using EventFd kick = EventFd.Create();
                    for (uint q = 0; q < 2; q++)
                    {
                        DriverQueue ring = new(h.Memory, 128);
                        f.SetVringNum(q, 128);
                        f.SetVringBase(q, 0);
                        f.SetVringAddr(new VringAddress(q, 0, ring.DescTableUserAddr, ring.UsedRingUserAddr, ring.AvailRingUserAddr, 0));
                        Refused(() => f.SetVringKick(q, kick.Handle));
                    }

                    Refused(() => f.GetFeatures());
                }
                finally
                {
                    f.Dispose();
                }
            }

            Assert.That(refused, Is.True, "an inflight area past the end of its fd is refused");
            using FrontendHarness again = FrontendHarness.Attach(backend);
            byte[] data = new byte[4096];
            new Random(1).NextBytes(data);
            BlkDriver blk = new(again);
            blk.Write(1, 8, data);
            Assert.That(blk.Read(0, 8, data.Length), Is.EqualTo(data));

            // Served again: the first session was torn down, with whatever its rings touched.
            Assert.That(backend.IsAlive, Is.True, $"Starting rings over an inflight area larger than its fd killed the back end (SIGBUS). Fix: SET_INFLIGHT_FD must fstat the fd and refuse mmap_offset + mmap_size past its end.\n{backend.Describe()}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void KickFdThatIsNotAnEventFdIsRefusedAndClosed()
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            using ProcessBackend backend = ProcessBackend.Start(BackendPrograms.Rng, Path.Combine(dir, "rng.sock"), "--log-level", "warn");
            int refusals = 0;
            for (int round = 0; round < 2; round++)
            {
                using FrontendHarness h = FrontendHarness.Attach(backend, connect: false);
                using VhostUserFrontend f = VhostUserFrontend.Connect(backend.SocketPath, TimeSpan.FromSeconds(30));
                f.SetProtocolFeatures(f.GetProtocolFeatures() & ProtocolFeatures.ReplyAck);
                f.SetOwner();
                f.SetFeatures(f.GetFeatures());
                f.SetMemTable([(new MemoryRegion(h.Memory.Gpa, h.Memory.Size, h.Memory.UserAddr, 0), h.Memory.Fd)]);
                DriverQueue ring = new(h.Memory, 16);
                f.SetVringNum(0, ring.Size);
                f.SetVringBase(0, 0);
                f.SetVringAddr(new VringAddress(0, 0, ring.DescTableUserAddr, ring.UsedRingUserAddr, ring.AvailRingUserAddr, 0));

                // A memfd where the kick eventfd belongs: epoll cannot watch it, so starting the ring fails.
                for (int i = 0; i < 5; i++)
                {
                    using FileDescriptor notAnEventFd = MemFd.Create("kick-not-an-eventfd", 4096);
                    refusals += Refused(() => f.SetVringKick(0, notAnEventFd)) ? 1 : 0;
                }
            }

            // Every such fd must be closed once refused (at the latest when the front end leaves).
            // A new session is served only after the old one was torn down.
            AssertStillServes(backend);
            int leaked = 0;
            foreach (string fd in Directory.GetFileSystemEntries($"/proc/{backend.Pid}/fd"))
            {
                try
                {
                    leaked += new FileInfo(fd).LinkTarget?.Contains("kick-not-an-eventfd", StringComparison.Ordinal) == true ? 1 : 0;
                }
                catch (IOException)
                {
                }
            }

            Assert.That(refusals, Is.EqualTo(10), "SET_VRING_KICK with an fd that is not an eventfd is refused");
            Assert.That(leaked, Is.Zero, $"the back end still holds {leaked} of the 10 refused kick fds after the front end left (Vring.StartOnWorker sets _kick before Worker.AttachKick throws, and nothing closes it)");
            Assert.That(backend.IsAlive, Is.True, backend.Describe());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs <paramref name="request"/>; true when the back end refused it (or the connection is gone).</summary>
    private static bool Refused(Action request)
    {
        try
        {
            request();
            return false;
        }
        catch (VhostUserException)
        {
            return true;
        }
    }

    private static void AssertStillServes(IBackend backend)
    {
        using FrontendHarness h = FrontendHarness.Attach(backend);
        ulong gpa = h.Alloc(64);
        h.Submit(0, DriverBuffer.DeviceWritable(gpa, 64));
        Assert.That(h.WaitUsed(0).Length, Is.EqualTo(64u));
    }
}
