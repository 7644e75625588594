// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using NUnit.Framework;
using Tmds.Linux;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests.Blk;

/// <summary>
/// <c>--direct</c> under each engine, through the real back-end handler: aligned transfers use the
/// <c>O_DIRECT</c> descriptor, unaligned ones (an odd guest address, which direct I/O refuses with
/// <c>EINVAL</c>) the buffered one, and data written either way reads back the same either way, by
/// checksum, in guest memory and in the file.
/// </summary>
[TestFixture]
public sealed class BlkDirectTests
{
    private const int Sector = 512;

    [TestCase(BlkIoEngine.Threads, null)]
    [TestCase(BlkIoEngine.Threads, 0)]
    [TestCase(BlkIoEngine.IoUring, null)]
    public void AlignedGoDirect_UnalignedGoBuffered_BothReadBackBySha256(BlkIoEngine engine, int? ioThreads)
    {
        using Rig rig = new(imageBytes: 4 << 20, ioEngine: engine, ioThreads: ioThreads, direct: true);
        BlkImage image = rig.Device.Processor.Image;
        Assert.That(image.IsDirect, Is.True);
        Assert.That(OpenFlags(image.Handle) & LibC.O_DIRECT, Is.EqualTo(LibC.O_DIRECT), "the image's main descriptor is O_DIRECT");
        Assert.That(OpenFlags(image.BufferedHandle) & LibC.O_DIRECT, Is.Zero, "the fallback descriptor is not");
        Assert.That(rig.Logs.Contains("Direct I/O (O_DIRECT)"), Is.True);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 64);

        // A: 16 KiB in two page-aligned pieces, B: 8 KiB in one: both aligned, so both direct.
        byte[] a = BlkHarness.RandomBytes(16 * 1024, seed: 41);
        byte[] b = BlkHarness.RandomBytes(8 * 1024, seed: 42);
        q.AddChain(rig.Header(BlkRequestType.Out, 0), rig.ReadableAt(a[..4096], 0), rig.ReadableAt(a[4096..], 0), rig.Status());
        q.AddChain(rig.Header(BlkRequestType.Out, 64), rig.ReadableAt(b, 0), rig.Status());
        kick.Signal();
        Rig.WaitUsed(q, 2);
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(image.UnalignedTransfers, Is.Zero, "aligned writes went direct");

        // C: 4 KiB from an odd guest address: O_DIRECT would refuse it, so it goes buffered.
        byte[] c = BlkHarness.RandomBytes(4096, seed: 43);
        rig.ClearStatuses();
        q.AddChain(rig.Header(BlkRequestType.Out, 128), rig.ReadableAt(c, 1), rig.Status());
        kick.Signal();
        Rig.WaitUsed(q, 1);
        Assert.That(rig.AllStatusesOk(), Is.True, "an unaligned write completes through the page cache");
        Assert.That(image.UnalignedTransfers, Is.EqualTo(1));
        Assert.That(rig.Logs.Contains("not aligned for direct I/O"), Is.True);

        // Read each back both ways: A and C aligned (direct), B and C unaligned (buffered).
        rig.ClearStatuses();
        DriverBuffer ra = rig.WritableAt(a.Length, 0);
        DriverBuffer rb = rig.WritableAt(b.Length, 3);
        DriverBuffer rc = rig.WritableAt(c.Length, 0);
        DriverBuffer rc2 = rig.WritableAt(c.Length, 511);
        ushort ha = q.AddChain(rig.Header(BlkRequestType.In, 0), ra, rig.Status());
        ushort hb = q.AddChain(rig.Header(BlkRequestType.In, 64), rb, rig.Status());
        ushort hc = q.AddChain(rig.Header(BlkRequestType.In, 128), rc, rig.Status());
        ushort hc2 = q.AddChain(rig.Header(BlkRequestType.In, 128), rc2, rig.Status());
        kick.Signal();
        Dictionary<ushort, uint> used = Rig.WaitUsed(q, 4);
        Assert.That(rig.AllStatusesOk(), Is.True);
        Assert.That(used[ha], Is.EqualTo((uint)a.Length + 1));
        Assert.That(used[hb], Is.EqualTo((uint)b.Length + 1));
        Assert.That(used[hc], Is.EqualTo((uint)c.Length + 1));
        Assert.That(used[hc2], Is.EqualTo((uint)c.Length + 1));
        Assert.That(image.UnalignedTransfers, Is.EqualTo(3), "the two skewed reads went buffered, the others direct");
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(ra.Gpa, a.Length)), Is.EqualTo(SHA256.HashData(a)));
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(rb.Gpa, b.Length)), Is.EqualTo(SHA256.HashData(b)));
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(rc.Gpa, c.Length)), Is.EqualTo(SHA256.HashData(c)));
        Assert.That(SHA256.HashData(rig.Memory.ReadBytes(rc2.Gpa, c.Length)), Is.EqualTo(SHA256.HashData(c)));

        byte[] file = rig.FileBytes();
        Assert.That(SHA256.HashData(file.AsSpan(0, a.Length)), Is.EqualTo(SHA256.HashData(a)));
        Assert.That(SHA256.HashData(file.AsSpan(64 * Sector, b.Length)), Is.EqualTo(SHA256.HashData(b)));
        Assert.That(SHA256.HashData(file.AsSpan(128 * Sector, c.Length)), Is.EqualTo(SHA256.HashData(c)));
    }

    [Test]
    public void OverwriteBufferedThenDirect_ReadsTheLatestEitherWay()
    {
        using Rig rig = new(imageBytes: 1 << 20, ioEngine: BlkIoEngine.IoUring, direct: true);
        (DriverQueue q, EventFd kick, _) = rig.StartRing(0, size: 16);

        // The same sectors written buffered, then direct, then buffered again; each read both ways.
        for (int round = 0; round < 3; round++)
        {
            byte[] data = BlkHarness.RandomBytes(8192, seed: 50 + round);
            rig.ClearStatuses();
            q.AddChain(rig.Header(BlkRequestType.Out, 16), rig.ReadableAt(data, round % 2 == 0 ? 5 : 0), rig.Status());
            kick.Signal();
            Rig.WaitUsed(q, 1);
            DriverBuffer direct = rig.WritableAt(data.Length, 0);
            DriverBuffer buffered = rig.WritableAt(data.Length, 7);
            q.AddChain(rig.Header(BlkRequestType.In, 16), direct, rig.Status());
            q.AddChain(rig.Header(BlkRequestType.In, 16), buffered, rig.Status());
            kick.Signal();
            Rig.WaitUsed(q, 2);
            Assert.That(rig.AllStatusesOk(), Is.True, $"round {round}");
            Assert.That(SHA256.HashData(rig.Memory.ReadBytes(direct.Gpa, data.Length)), Is.EqualTo(SHA256.HashData(data)), $"round {round}, direct read");
            Assert.That(SHA256.HashData(rig.Memory.ReadBytes(buffered.Gpa, data.Length)), Is.EqualTo(SHA256.HashData(data)), $"round {round}, buffered read");
        }
    }

    [Test]
    public void WithoutDirect_OneDescriptorAndNoODirect()
    {
        using Rig rig = new(imageBytes: 1 << 20);
        BlkImage image = rig.Device.Processor.Image;
        Assert.That(image.IsDirect, Is.False);
        Assert.That(ReferenceEquals(image.Handle, image.BufferedHandle), Is.True);
        Assert.That(OpenFlags(image.Handle) & LibC.O_DIRECT, Is.Zero);
    }

    /// <summary>The open flags of <paramref name="fd"/>, from <c>/proc/self/fdinfo</c> (octal).</summary>
    private static int OpenFlags(FileDescriptor fd)
    {
        string line = File.ReadAllLines($"/proc/self/fdinfo/{fd.DangerousFd}").Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return Convert.ToInt32(line["flags:".Length..].Trim(), 8);
    }
}
