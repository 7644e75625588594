// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>
/// vhost-user-blk against a temporary image: the device in this process (fast, one per test) for
/// the request semantics, the real program where the program itself matters.
/// </summary>
[TestFixture]
public sealed class BlkTests
{
    private const long ImageBytes = 8 << 20;
    private const ulong ImageSectors = ImageBytes / BlkWire.SectorSize;
    private const string Serial = "it-serial-0001";

    private string _dir = null!;
    private string _image = null!;

    [SetUp]
    public void CreateImage()
    {
        _dir = FrontendHarness.NewTempDir();
        _image = BlkWire.CreateImage(_dir, ImageBytes);
    }

    [TearDown]
    public void RemoveImage() => Directory.Delete(_dir, recursive: true);

    [TestCase(1, false, 4096)]
    [TestCase(3, false, 65536)]
    [TestCase(5, false, 512 * 7)]
    [TestCase(1, true, 8192)]
    [TestCase(4, true, 131072)]
    public void WriteThenReadRoundTrips(int pieces, bool indirect, int length)
    {
        using FrontendHarness h = InProcess();
        BlkDriver blk = new(h, seed: length + pieces);
        Assert.That(h.AckedFeatures & VirtioBits.RingIndirectDesc, Is.Not.Zero, "indirect descriptors are offered");
        byte[] data = blk.RandomBytes(length);
        const ulong Sector = 24;
        blk.Write(0, Sector, data, pieces, indirect);

        // Read it back split differently and through the other descriptor kind.
        byte[] back = blk.Read(0, Sector, length, pieces + 1, !indirect);
        Assert.That(BlkWire.Sha256(back), Is.EqualTo(BlkWire.Sha256(data)));
        Assert.That(BlkWire.Sha256(BlkWire.ReadFile(_image, (long)Sector * BlkWire.SectorSize, length)), Is.EqualTo(BlkWire.Sha256(data)), "the image file holds the data");
    }

    [Test]
    public void SixtyFourRequestsInFlightAtOnce()
    {
        using FrontendHarness h = InProcess();
        BlkDriver blk = new(h, seed: 64);
        const int Count = 64;
        const int Length = 16384;
        byte[] expectedImage = new byte[ImageBytes];
        List<BlkRequest> writes = new();
        for (int i = 0; i < Count; i++)
        {
            // Interleaved, non-adjacent sectors so a misplaced write shows.
            ulong sector = (ulong)(((i * 37) % Count) * (Length / BlkWire.SectorSize) * 2);
            byte[] data = blk.RandomBytes(Length);
            data.CopyTo(expectedImage, (long)sector * BlkWire.SectorSize);
            writes.Add(blk.Stage(0, BlkWire.Out, sector, data, pieces: i % 2 == 0 ? 1 : 3, indirect: i % 2 == 1));
        }

        Assert.That(h.Queues[0].Driver.FreeDescriptors, Is.LessThan(h.Options.QueueSize - Count + 1), "all requests are outstanding together");
        blk.Publish(0);
        AssertCompletesOnce(h, blk, 0, writes);
        Assert.That(BlkWire.Sha256File(_image), Is.EqualTo(BlkWire.Sha256(expectedImage)), "the image holds exactly the 64 writes");

        // And 64 reads at once.
        List<BlkRequest> reads = writes.Select((w, i) => blk.Stage(0, BlkWire.In, w.Sector, default, Length, pieces: i % 2 == 0 ? 2 : 1, indirect: i % 2 == 0)).ToList();
        blk.Publish(0);
        AssertCompletesOnce(h, blk, 0, reads);
        for (int i = 0; i < Count; i++)
        {
            Assert.That(BlkWire.Sha256(blk.DataOf(reads[i])), Is.EqualTo(BlkWire.Sha256(writes[i].OutData)), $"read {i}");
        }
    }

    [Test]
    public void FlushAndGetId()
    {
        using FrontendHarness h = InProcess();
        BlkDriver blk = new(h);
        Assert.That(h.OfferedFeatures & BlkWire.FeatureFlush, Is.Not.Zero);
        blk.Write(0, 0, blk.RandomBytes(4096));
        (byte status, uint written, _) = blk.Execute(0, BlkWire.Flush, 0);
        Assert.That(status, Is.EqualTo(BlkWire.StatusOk));
        Assert.That(written, Is.EqualTo(1u), "a flush writes only its status");

        (status, written, BlkRequest id) = blk.Execute(0, BlkWire.GetId, 0, default, BlkWire.IdBytes, pieces: 2);
        Assert.That(status, Is.EqualTo(BlkWire.StatusOk));
        byte[] expected = new byte[BlkWire.IdBytes];
        Encoding.ASCII.GetBytes(Serial).CopyTo(expected, 0);
        Assert.That(blk.DataOf(id), Is.EqualTo(expected), "GET_ID returns the serial, NUL-padded to 20 bytes");
        Assert.That(written, Is.GreaterThanOrEqualTo((uint)Serial.Length + 1));

        // An unknown request type is UNSUPP, a read past the end IOERR; the queue keeps working.
        Assert.That(blk.Execute(0, 0x7f, 0, default, 512).Status, Is.EqualTo(BlkWire.StatusUnsupp));
        Assert.That(blk.Execute(0, BlkWire.In, ImageSectors - 1, default, 1024).Status, Is.EqualTo(BlkWire.StatusIoErr));
        Assert.That(blk.Execute(0, BlkWire.Out, ImageSectors, blk.RandomBytes(512)).Status, Is.EqualTo(BlkWire.StatusIoErr));
        blk.Read(0, 0, 512);
    }

    [Test]
    public void DiscardAndWriteZeroes()
    {
        using FrontendHarness h = InProcess();
        BlkDriver blk = new(h, seed: 13);
        Assert.That(h.AckedFeatures & (BlkWire.FeatureDiscard | BlkWire.FeatureWriteZeroes), Is.EqualTo(BlkWire.FeatureDiscard | BlkWire.FeatureWriteZeroes));
        const int Span = 256 * 1024;
        byte[] data = blk.RandomBytes(Span);
        blk.Write(0, 0, data, pieces: 4);

        // Write zeroes over three ranges, one of them with unmap, in one request of three segments.
        (ulong Sector, uint Sectors, uint Flags)[] zeroes = [(8, 8, 0), (100, 40, BlkWire.UnmapFlag), (300, 1, 0)];
        (byte status, _, _) = blk.Execute(0, BlkWire.WriteZeroes, 0, BlkWire.Segments(zeroes), pieces: 2);
        Assert.That(status, Is.EqualTo(BlkWire.StatusOk));
        byte[] expected = (byte[])data.Clone();
        foreach ((ulong sector, uint sectors, _) in zeroes)
        {
            Array.Clear(expected, (int)sector * BlkWire.SectorSize, (int)sectors * BlkWire.SectorSize);
        }

        Assert.That(BlkWire.Sha256(blk.Read(0, 0, Span, pieces: 3)), Is.EqualTo(BlkWire.Sha256(expected)), "zeroed ranges read back as zeroes, the rest untouched");

        // Discard two ranges: allowed to drop the data, never to touch anything else.
        (ulong Sector, uint Sectors, uint Flags)[] discards = [(16, 16, 0), (200, 8, 0)];
        Assert.That(blk.Execute(0, BlkWire.Discard, 0, BlkWire.Segments(discards)).Status, Is.EqualTo(BlkWire.StatusOk));
        byte[] after = blk.Read(0, 0, Span);
        for (int sector = 0; sector < Span / BlkWire.SectorSize; sector++)
        {
            bool discarded = discards.Any(d => (ulong)sector >= d.Sector && (ulong)sector < d.Sector + d.Sectors);
            if (!discarded)
            {
                Assert.That(after.AsSpan(sector * BlkWire.SectorSize, BlkWire.SectorSize).SequenceEqual(expected.AsSpan(sector * BlkWire.SectorSize, BlkWire.SectorSize)), Is.True, $"sector {sector} changed by a discard elsewhere");
            }
        }

        // Out of range → IOERR, and nothing of the request is applied.
        string before = BlkWire.Sha256File(_image);
        Assert.That(blk.Execute(0, BlkWire.WriteZeroes, 0, BlkWire.Segments((0, 8, 0), (ImageSectors - 4, 8, 0))).Status, Is.EqualTo(BlkWire.StatusIoErr));
        Assert.That(blk.Execute(0, BlkWire.WriteZeroes, 0, BlkWire.Segments((ulong.MaxValue - 2, 8, 0))).Status, Is.EqualTo(BlkWire.StatusIoErr));
        Assert.That(blk.Execute(0, BlkWire.Discard, 0, BlkWire.Segments((ImageSectors, 1, 0))).Status, Is.EqualTo(BlkWire.StatusIoErr));
        Assert.That(BlkWire.Sha256File(_image), Is.EqualTo(before), "a failed request changed the image");

        // §5.2.6.2: a discard with the unmap flag is UNSUPP.
        Assert.That(blk.Execute(0, BlkWire.Discard, 0, BlkWire.Segments((0, 8, BlkWire.UnmapFlag))).Status, Is.EqualTo(BlkWire.StatusUnsupp));
    }

    [Test]
    public void ReadOnlyBackendRejectsWritesAndKeepsTheImage()
    {
        byte[] content = new byte[1 << 20];
        new Random(5).NextBytes(content);
        _image = BlkWire.CreateImage(_dir, ImageBytes, content);
        string before = BlkWire.Sha256File(_image);
        using FrontendHarness h = FrontendHarness.StartProcess(BackendPrograms.Blk, ["--blk-file", _image, "--read-only", "--log-level", "warn"]);
        BlkDriver blk = new(h);
        Assert.That(h.OfferedFeatures & BlkWire.FeatureRo, Is.Not.Zero, "VIRTIO_BLK_F_RO is offered");
        Assert.That(h.OfferedFeatures & (BlkWire.FeatureDiscard | BlkWire.FeatureWriteZeroes), Is.Zero, "a read-only disk offers no discard/write-zeroes");

        Assert.That(blk.Execute(0, BlkWire.Out, 0, blk.RandomBytes(4096), pieces: 2).Status, Is.EqualTo(BlkWire.StatusIoErr));
        Assert.That(blk.Execute(0, BlkWire.Out, 100, blk.RandomBytes(512), indirect: true).Status, Is.EqualTo(BlkWire.StatusIoErr));
        Assert.That(blk.Execute(0, BlkWire.WriteZeroes, 0, BlkWire.Segments((0, 8, 0))).Status, Is.AnyOf(BlkWire.StatusIoErr, BlkWire.StatusUnsupp));
        Assert.That(blk.Execute(0, BlkWire.Discard, 0, BlkWire.Segments((0, 8, 0))).Status, Is.AnyOf(BlkWire.StatusIoErr, BlkWire.StatusUnsupp));
        Assert.That(BlkWire.Sha256(blk.Read(0, 0, content.Length, pieces: 3)), Is.EqualTo(BlkWire.Sha256(content)), "reads still work");
        Assert.That(blk.Execute(0, BlkWire.Flush, 0).Status, Is.AnyOf(BlkWire.StatusOk, BlkWire.StatusIoErr, BlkWire.StatusUnsupp));
        Assert.That(BlkWire.Sha256File(_image), Is.EqualTo(before), "the image is untouched");
    }

    [Test]
    public void ConfigSpaceDescribesTheImage()
    {
        using FrontendHarness h = InProcess(queueSize: 128);
        Assert.That(h.AckedProtocolFeatures & ProtocolFeatures.Config, Is.Not.Zero);
        byte[] c = h.Frontend.GetConfig(0, BlkWire.ConfigSize);
        Assert.Multiple(() =>
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(BlkWire.ConfigCapacity)), Is.EqualTo(ImageSectors), "capacity in 512-byte sectors");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(BlkWire.ConfigBlkSize)), Is.EqualTo(512u).Or.EqualTo(4096u), "blk_size");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(BlkWire.ConfigSegMax)), Is.InRange(1u, 126u), "seg_max leaves room for header and status");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(c.AsSpan(BlkWire.ConfigNumQueues)), Is.EqualTo(1), "num_queues");
            Assert.That(c[BlkWire.ConfigWriteback], Is.EqualTo(1), "writeback after negotiating FLUSH");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(BlkWire.ConfigMaxDiscardSectors)), Is.Not.Zero);
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(BlkWire.ConfigMaxDiscardSeg)), Is.Not.Zero);
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(BlkWire.ConfigMaxWriteZeroesSectors)), Is.Not.Zero);
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(BlkWire.ConfigMaxWriteZeroesSeg)), Is.Not.Zero);
            Assert.That(c[BlkWire.ConfigWriteZeroesMayUnmap], Is.EqualTo(1));
        });

        // A partial read at an offset sees the same bytes.
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigCapacity, 8), Is.EqualTo(c.AsSpan(0, 8).ToArray()));
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigNumQueues, 2), Is.EqualTo(c.AsSpan(BlkWire.ConfigNumQueues, 2).ToArray()));

        // Past the end of the config space is refused, and the connection survives it.
        Assert.Throws<VhostUserException>(() => h.Frontend.GetConfig(200, 16));
        Assert.That(h.Frontend.GetConfig(0, 8), Is.EqualTo(c.AsSpan(0, 8).ToArray()));
    }

    [Test]
    public void WritebackIsSetThroughSetConfig()
    {
        using FrontendHarness h = InProcess();
        BlkDriver blk = new(h);
        Assert.That(h.AckedFeatures & BlkWire.FeatureConfigWce, Is.Not.Zero);
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigWriteback, 1)[0], Is.EqualTo(1));

        h.Frontend.SetConfig(BlkWire.ConfigWriteback, [0]);
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigWriteback, 1)[0], Is.EqualTo(0), "writethrough after writing 0");
        byte[] data = blk.RandomBytes(8192);
        blk.Write(0, 64, data);
        Assert.That(blk.Read(0, 64, data.Length), Is.EqualTo(data));

        h.Frontend.SetConfig(BlkWire.ConfigWriteback, [1]);
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigWriteback, 1)[0], Is.EqualTo(1));

        // Other fields are not writable: the write is refused (REPLY_ACK) and changes nothing.
        byte[] capacity = h.Frontend.GetConfig(BlkWire.ConfigCapacity, 8);
        Assert.Throws<VhostUserException>(() => h.Frontend.SetConfig(BlkWire.ConfigCapacity, new byte[8]));
        Assert.Throws<VhostUserException>(() => h.Frontend.SetConfig(BlkWire.ConfigWriteback, [7]));
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigCapacity, 8), Is.EqualTo(capacity));
        Assert.That(h.Frontend.GetConfig(BlkWire.ConfigWriteback, 1)[0], Is.EqualTo(1));
    }

    [Test]
    public void TwoQueuesServeIoIndependently()
    {
        using FrontendHarness h = InProcess(numQueues: 2);
        BlkDriver blk = new(h, seed: 2);
        Assert.That(h.QueueNum, Is.EqualTo(2ul), "GET_QUEUE_NUM");
        Assert.That(h.OfferedFeatures & BlkWire.FeatureMq, Is.Not.Zero, "VIRTIO_BLK_F_MQ");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(h.Frontend.GetConfig(BlkWire.ConfigNumQueues, 2)), Is.EqualTo(2));
        Assert.That(h.Queues, Has.Count.EqualTo(2));

        // Both queues loaded at once, each writing its own half of the disk.
        List<BlkRequest>[] writes = [new(), new()];
        for (int i = 0; i < 24; i++)
        {
            for (int q = 0; q < 2; q++)
            {
                ulong sector = (ulong)((q * 4096) + (i * 16));
                writes[q].Add(blk.Stage(q, BlkWire.Out, sector, blk.RandomBytes(8192), pieces: 2, indirect: i % 3 == 0));
            }
        }

        blk.Publish(0);
        blk.Publish(1);
        AssertCompletesOnce(h, blk, 0, writes[0]);
        AssertCompletesOnce(h, blk, 1, writes[1]);

        // Each queue reads back what the other one wrote.
        for (int q = 0; q < 2; q++)
        {
            foreach (BlkRequest w in writes[q].Take(6))
            {
                Assert.That(BlkWire.Sha256(blk.Read(1 - q, w.Sector, w.OutData!.Length)), Is.EqualTo(BlkWire.Sha256(w.OutData)));
            }
        }
    }

    [Test]
    public void RingsStopWithGetVringBaseAndResumeWhereTheyLeftOff()
    {
        using FrontendHarness h = InProcess(numQueues: 2);
        BlkDriver blk = new(h, seed: 8);
        byte[] first = blk.RandomBytes(4096);
        blk.Write(0, 0, first);
        blk.Write(1, 8, first);
        for (int q = 0; q < 2; q++)
        {
            Assert.That(h.StopRing(q), Is.EqualTo((uint)h.Queues[q].Driver.AvailIdx), $"GET_VRING_BASE of ring {q} is its next avail index");
        }

        // A stopped ring does not process what the driver adds.
        BlkRequest pending = blk.Stage(0, BlkWire.Out, 16, blk.RandomBytes(512));
        blk.Publish(0);
        h.Queues[0].Kick.Signal();
        h.AssertNoUsed(0);

        // Resumed at the reported base, it picks the request up, and both rings go on.
        h.StartRing(0, h.Queues[0].Driver.ReadUsedIdx());
        h.StartRing(1, h.Queues[1].Driver.AvailIdx);
        Assert.That(h.WaitUsed(0).Id, Is.EqualTo(pending.Head));
        Assert.That(blk.StatusOf(pending), Is.EqualTo(BlkWire.StatusOk));
        Assert.That(blk.Read(1, 16, 512), Is.EqualTo(pending.OutData));
        Assert.That(blk.Read(0, 8, 4096), Is.EqualTo(first));
    }

    [Test]
    public void BackendKeepsListeningAcrossFrontendDisconnects()
    {
        using FrontendHarness h = FrontendHarness.StartProcess(BackendPrograms.Blk, ["--blk-file", _image, "--serial", Serial, "--log-level", "warn"]);
        BlkDriver blk = new(h, seed: 3);
        byte[] first = blk.RandomBytes(4096);
        blk.Write(0, 10, first, pieces: 2);
        for (int round = 0; round < 3; round++)
        {
            h.Disconnect();
            h.Connect();
            Assert.That(h.Backend.IsAlive, Is.True);
            Assert.That(blk.Read(0, 10, first.Length, pieces: 3), Is.EqualTo(first), $"data survives reconnect {round}");
            byte[] more = blk.RandomBytes(1024);
            blk.Write(0, (ulong)(100 + round), more, indirect: true);
            Assert.That(blk.Read(0, (ulong)(100 + round), more.Length), Is.EqualTo(more));
        }

        // Leaving in the middle of a session (rings running, requests just completed) is fine too.
        h.Disconnect();
        using FrontendHarness other = FrontendHarness.Attach(h.Backend);
        Assert.That(new BlkDriver(other).Read(0, 10, first.Length), Is.EqualTo(first));
    }

    [Test]
    public void SighupResizeIsAnnouncedWithConfigChange()
    {
        using FrontendHarness h = FrontendHarness.StartProcess(BackendPrograms.Blk, ["--blk-file", _image, "--log-level", "warn"]);
        AssertSighupResizes(h);
    }

    [Test]
    public void SighupResizeWorks_WhenTheParentPassedSighupOnIgnored()
    {
        // nohup (or any parent that ignores SIGHUP) used to leave the resize handler dead: the .NET
        // runtime keeps an inherited ignored signal ignored.
        using ProcessBackend backend = ProcessBackend.StartIgnoringHangUp(BackendPrograms.Blk, Path.Combine(_dir, "nohup.sock"), "--blk-file", _image, "--log-level", "info");
        using FrontendHarness h = FrontendHarness.Attach(backend);
        AssertSighupResizes(h);
        Assert.That(backend.Describe(), Does.Contain("Signal 1 was inherited as ignored"), "nohup passed SIGHUP on ignored");
    }

    private void AssertSighupResizes(FrontendHarness h)
    {
        Assert.That(h.AckedProtocolFeatures & ProtocolFeatures.BackendReq, Is.Not.Zero);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(h.Frontend.GetConfig(0, 8)), Is.EqualTo(ImageSectors));
        using (FileStream f = new(_image, FileMode.Open, FileAccess.ReadWrite))
        {
            f.SetLength(ImageBytes * 2);
        }

        ((ProcessBackend)h.Backend).Signal(1 /* SIGHUP */);
        System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        while (h.ConfigChanges == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            System.Threading.Thread.Sleep(20);
        }

        Assert.That(h.ConfigChanges, Is.GreaterThanOrEqualTo(1), "CONFIG_CHANGE_MSG on the back-end channel");
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(h.Frontend.GetConfig(0, 8)), Is.EqualTo(ImageSectors * 2));
        BlkDriver blk = new(h);
        byte[] data = blk.RandomBytes(512);
        blk.Write(0, (ImageSectors * 2) - 1, data);
        Assert.That(blk.Read(0, (ImageSectors * 2) - 1, 512), Is.EqualTo(data), "the new last sector is usable");
    }

    /// <summary>Collects one used element per request of <paramref name="requests"/>, each exactly once, all OK.</summary>
    internal static void AssertCompletesOnce(FrontendHarness h, BlkDriver blk, int queue, IReadOnlyList<BlkRequest> requests)
    {
        Dictionary<ushort, BlkRequest> pending = requests.ToDictionary(r => r.Head);
        foreach ((ushort id, uint written) in h.WaitUsed(queue, requests.Count))
        {
            Assert.That(pending.Remove(id, out BlkRequest? r), Is.True, $"head {id} completed twice or was never submitted");
            Assert.That(blk.StatusOf(r!), Is.EqualTo(BlkWire.StatusOk), $"request at sector {r!.Sector}");
            Assert.That(written, Is.EqualTo(r.Type == BlkWire.In ? (uint)r.InLength + 1 : 1u));
        }

        h.AssertNothingMoreUsed(queue);
    }

    private FrontendHarness InProcess(int numQueues = 1, ushort queueSize = 128) =>
        FrontendHarness.StartInProcess(
            new BlkDevice(new BlkDeviceOptions { Path = _image, Serial = Serial, NumQueues = numQueues, QueueSize = queueSize }),
            new HarnessOptions { QueueSize = queueSize });
}
