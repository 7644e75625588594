// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Security.Cryptography;
using NUnit.Framework;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests;

/// <summary>The io_uring binding against the real kernel: bytes by checksum, results and errnos.</summary>
[TestFixture]
public unsafe class IoUringTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"uring-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Create_RoundsTheRingUpAndStartsEmpty()
    {
        using IoUring ring = IoUring.Create(100);
        Assert.That(ring.SubmissionEntries, Is.EqualTo(128u));
        Assert.That(ring.CompletionEntries, Is.EqualTo(256u));
        Assert.That(ring.FreeEntries, Is.EqualTo(128u));
        Assert.That(ring.Submit(), Is.Zero);
        Assert.That(ring.TryReap(out _), Is.False);
    }

    [Test]
    public void Vectored_WriteThenRead_SameBytesBySha256()
    {
        using FileDescriptor file = OpenFile("v.img");
        using MappedBuffer source = new(3 * 4096);
        using MappedBuffer sink = new(3 * 4096);
        RandomNumberGenerator.Fill(source.Span);

        // Three pieces of uneven size, written at 8 KiB, then read back into pieces cut elsewhere.
        IoVecList write = new(3);
        write[0] = new IoVec(source.Address, 512);
        write[1] = new IoVec(source.Address + 512, 4096);
        write[2] = new IoVec(source.Address + 4608, (nuint)(3 * 4096) - 4608);
        IoVecList read = new(2);
        read[0] = new IoVec(sink.Address, 7000);
        read[1] = new IoVec(sink.Address + 7000, (nuint)(3 * 4096) - 7000);

        using IoUring ring = IoUring.Create(8);
        ring.PrepareVectored(true, file, write, 0, 3, 8192, 11);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(Wait(ring), Is.EqualTo(new IoUringCompletion(11, 3 * 4096)));

        ring.PrepareVectored(false, file, read, 0, 2, 8192, 12);
        Assert.That(Wait(ring), Is.EqualTo(new IoUringCompletion(12, 3 * 4096)));
        Assert.That(SHA256.HashData(sink.Span), Is.EqualTo(SHA256.HashData(source.Span)));

        // The same bytes through the blocking call: the ring wrote the file, not a cache of its own.
        byte[] plain = new byte[3 * 4096];
        Assert.That(FileIo.PRead(file, plain, 8192), Is.EqualTo(plain.Length));
        Assert.That(SHA256.HashData(plain), Is.EqualTo(SHA256.HashData(source.Span)));
    }

    [Test]
    public void Fixed_RegisteredBuffers_WriteThenRead_SameBytes()
    {
        using FileDescriptor file = OpenFile("f.img");
        using MappedBuffer memory = new(64 * 1024);
        RandomNumberGenerator.Fill(memory.Span[..16384]);
        using IoUring ring = IoUring.Create(4);
        ring.RegisterBuffers([new IoVec(memory.Address, 64 * 1024)]);

        ring.PrepareFixed(true, file, memory.Address, 16384, 0, 0, 1);
        Assert.That(Wait(ring), Is.EqualTo(new IoUringCompletion(1, 16384)));
        ring.PrepareFixed(false, file, memory.Address + 32768, 16384, 0, 0, 2);
        Assert.That(Wait(ring), Is.EqualTo(new IoUringCompletion(2, 16384)));
        Assert.That(SHA256.HashData(memory.Span.Slice(32768, 16384)), Is.EqualTo(SHA256.HashData(memory.Span[..16384])));

        // A buffer outside the registered one is refused per operation, not for the ring.
        using MappedBuffer other = new(4096);
        ring.PrepareFixed(false, file, other.Address, 4096, 0, 0, 3);
        Assert.That(Wait(ring).Result, Is.EqualTo(-LibC.EFAULT));
        ring.UnregisterBuffers();
        ring.PrepareFixed(false, file, memory.Address, 4096, 0, 0, 4);
        Assert.That(Wait(ring).Result, Is.LessThan(0), "no registered buffer is left");
    }

    [Test]
    public void Fsync_And_Batch_EachCompletionOnce_EventFdSignalled()
    {
        using FileDescriptor file = OpenFile("b.img");
        using MappedBuffer memory = new(64 * 4096);
        RandomNumberGenerator.Fill(memory.Span);
        using EventFd done = EventFd.Create();
        using IoUring ring = IoUring.Create(64);
        ring.RegisterEventFd(done);
        IoVecList iov = new(64);
        for (int i = 0; i < 63; i++)
        {
            iov[i] = new IoVec(memory.Address + (i * 4096), 4096);
            ring.PrepareVectored(true, file, iov, i, 1, (62 - i) * 4096L, (ulong)i);
        }

        ring.PrepareFsync(file, dataOnly: true, 63);
        Assert.That(ring.Unsubmitted, Is.EqualTo(64u));
        Assert.That(() => ring.PrepareFsync(file, true, 99), Throws.InvalidOperationException, "the ring is full");
        Assert.That(ring.Submit(), Is.EqualTo(64));
        Assert.That(ring.Unsubmitted, Is.Zero);

        bool[] seen = new bool[64];
        for (int n = 0; n < 64; n++)
        {
            IoUringCompletion c = Wait(ring);
            Assert.That(seen[c.UserData], Is.False, $"operation {c.UserData} completed twice");
            seen[c.UserData] = true;
            Assert.That(c.Result, Is.EqualTo(c.UserData == 63 ? 0 : 4096), $"operation {c.UserData}");
        }

        Assert.That(done.TryRead(out ulong count), Is.True, "the completion eventfd fired");
        Assert.That(count, Is.GreaterThan(0ul));

        // Page i went to page 62 - i.
        byte[] page = new byte[4096];
        for (int i = 0; i < 63; i++)
        {
            FileIo.PRead(file, page, (62 - i) * 4096L);
            Assert.That(page.AsSpan().SequenceEqual(memory.Span.Slice(i * 4096, 4096)), Is.True, $"page {i}");
        }
    }

    [Test]
    public void Errors_ComeBackAsNegatedErrnoPerOperation()
    {
        using FileDescriptor readOnly = OpenFile("r.img", readOnly: true);
        using MappedBuffer memory = new(4096);
        IoVecList iov = new(1);
        iov[0] = new IoVec(memory.Address, 4096);
        using IoUring ring = IoUring.Create(2);
        ring.PrepareVectored(true, readOnly, iov, 0, 1, 0, 5);
        Assert.That(Wait(ring), Is.EqualTo(new IoUringCompletion(5, -LibC.EBADF)));

        // Past the end of the (empty) file: a read of 0 bytes, which the caller must tell apart.
        ring.PrepareVectored(false, readOnly, iov, 0, 1, 1 << 20, 6);
        Assert.That(Wait(ring), Is.EqualTo(new IoUringCompletion(6, 0)));
        Assert.That(() => ring.PrepareVectored(false, readOnly, iov, 0, 2, 0, 7), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static IoUringCompletion Wait(IoUring ring)
    {
        IoUringCompletion c;
        while (!ring.TryReap(out c))
        {
            ring.SubmitAndWait();
        }

        return c;
    }

    private FileDescriptor OpenFile(string name, bool readOnly = false) =>
        FileIo.Open(Path.Combine(_dir, name), (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_CREAT | LibC.O_CLOEXEC, 0x180);

    /// <summary>Page-aligned memory that does not move: a shared mapping of a memfd.</summary>
    private sealed class MappedBuffer : IDisposable
    {
        private readonly FileDescriptor _fd;
        private readonly MappedMemory _map;

        public MappedBuffer(int length)
        {
            _fd = MemFd.Create("uring-test", length);
            _map = MappedMemory.Map(_fd, 0, (ulong)length, writable: true);
            Length = length;
        }

        public int Length { get; }

        public nint Address => (nint)_map.Address;

        public Span<byte> Span => _map.GetSpan(0, Length);

        public void Dispose()
        {
            _map.Dispose();
            _fd.Dispose();
        }
    }
}
