// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests.Blk;

/// <summary>
/// The io_uring engine through the real back-end handler: fixed-buffer and vectored transfers,
/// flush, writethrough (write then fdatasync), discard beside it on an I/O thread, all by checksum.
/// </summary>
[TestFixture]
public sealed class BlkUringTests
{
    private const int Sector = 512;

    [Test]
    public void FixedAndVectored_Flush_Writethrough_Discard_BytesBySha256()
    {
        using Rig rig = new(imageBytes: 4 << 20, ioEngine: BlkIoEngine.IoUring);
        Assert.That(rig.Device.UsesUring, Is.True);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 64);

        // A: 12 KiB in three pieces (vectored); B: 8 KiB in one (a fixed-buffer write); then a flush.
        byte[] a = BlkHarness.RandomBytes(12 * 1024, seed: 21);
        byte[] b = BlkHarness.RandomBytes(8 * 1024, seed: 22);
        q.AddChain(rig.Header(BlkRequestType.Out, 0), rig.Readable(a[..1024]), rig.Readable(a[1024..5120]), rig.Readable(a[5120..]), rig.Status());
        q.AddChain(rig.Header(BlkRequestType.Out, 64), rig.Readable(b), rig.Status());
        q.AddChain(rig.Header(BlkRequestType.Flush, 0), rig.Status());
        kick.Signal();
        Dictionary<ushort, uint> used = Rig.WaitUsed(q, 3);
        Assert.That(used.Values, Is.All.EqualTo(1u));
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(rig.Logs.Contains("fixed buffer(s)"), Is.True, "guest memory was registered with the ring");

        // Writethrough: C's write is followed by an fdatasync before it completes.
        rig.Frontend.SetConfig(32, [0]);
        Assert.That(rig.Device.IsWriteback, Is.False);
        byte[] c = BlkHarness.RandomBytes(4096, seed: 23);
        rig.ClearStatuses();
        q.AddChain(rig.Header(BlkRequestType.Out, 128), rig.Readable(c), rig.Status());

        // A discard of the sectors after C goes to the I/O thread beside the ring's requests.
        byte[] range = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(range, 512);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(range.AsSpan(8), 8);
        q.AddChain(rig.Header(BlkRequestType.Discard, 0), rig.Readable(range), rig.Status());
        kick.Signal();
        used = Rig.WaitUsed(q, 2);
        Assert.That(rig.AllStatusesOk(), Is.True);

        // Read A back into two pieces cut elsewhere (vectored), B and C into one each (fixed).
        rig.ClearStatuses();
        DriverBuffer a1 = rig.Writable(7000);
        DriverBuffer a2 = rig.Writable((12 * 1024) - 7000);
        DriverBuffer rb = rig.Writable(b.Length);
        DriverBuffer rc = rig.Writable(c.Length);
        ushort ha = q.AddChain(rig.Header(BlkRequestType.In, 0), a1, a2, rig.Status());
        ushort hb = q.AddChain(rig.Header(BlkRequestType.In, 64), rb, rig.Status());
        ushort hc = q.AddChain(rig.Header(BlkRequestType.In, 128), rc, rig.Status());
        kick.Signal();
        used = Rig.WaitUsed(q, 3);
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(used[ha], Is.EqualTo((uint)a.Length + 1));
        Assert.That(used[hb], Is.EqualTo((uint)b.Length + 1));
        Assert.That(used[hc], Is.EqualTo((uint)c.Length + 1));
        byte[] readA = [.. rig.Memory.ReadBytes(a1.Gpa, 7000), .. rig.Memory.ReadBytes(a2.Gpa, (12 * 1024) - 7000)];
        Assert.That(SHA256.HashData(readA), Is.EqualTo(SHA256.HashData(a)));
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(rb.Gpa, b.Length)), Is.EqualTo(SHA256.HashData(b)));
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(rc.Gpa, c.Length)), Is.EqualTo(SHA256.HashData(c)));

        // And in the file itself.
        byte[] file = rig.FileBytes();
        Assert.That(SHA256.HashData(file.AsSpan(0, a.Length)), Is.EqualTo(SHA256.HashData(a)));
        Assert.That(SHA256.HashData(file.AsSpan(64 * Sector, b.Length)), Is.EqualTo(SHA256.HashData(b)));
        Assert.That(SHA256.HashData(file.AsSpan(128 * Sector, c.Length)), Is.EqualTo(SHA256.HashData(c)));
    }

    [Test]
    public void MemoryTableChange_ReRegisters_DataStillLandsInTheNewMemory()
    {
        using Rig rig = new(imageBytes: 1 << 20, ioEngine: BlkIoEngine.IoUring, splitAt: 32 << 20);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 16);
        byte[] data = BlkHarness.RandomBytes(4096, seed: 31);
        q.AddChain(rig.Header(BlkRequestType.Out, 8), rig.Readable(data), rig.Status());
        kick.Signal();
        Rig.WaitUsed(q, 1);
        int registered = rig.Logs.Count("fixed buffer(s)");
        Assert.That(registered, Is.EqualTo(1));

        // The same memory sent again as one region: a new table (new mappings), registered anew.
        rig.Frontend.SetMemTable(rig.MemoryTable());
        DriverBuffer back = rig.Writable(4096);
        q.AddChain(rig.Header(BlkRequestType.In, 8), back, rig.Status());
        kick.Signal();
        Rig.WaitUsed(q, 1);
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(rig.Logs.Count("fixed buffer(s)"), Is.EqualTo(2), "the new table was registered");
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(back.Gpa, 4096)), Is.EqualTo(SHA256.HashData(data)));
    }
}
