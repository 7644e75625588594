// SPDX-License-Identifier: MIT
using System;
using System.Linq;
using System.Security.Cryptography;
using NUnit.Framework;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests.Blk;

[TestFixture]
public sealed class BlkRequestProcessorTests
{
    private const int Sector = BlkHarness.Sector;

    [Test]
    public void Capacity_IsFileSizeInSectors_PartialSectorHidden()
    {
        using BlkHarness h = new(imageBytes: (1 << 20) + 100);
        Assert.That(h.Processor.CapacitySectors, Is.EqualTo((ulong)((1 << 20) / Sector)));
        Assert.That(h.Image.IsBlockDevice, Is.False);
        Assert.That(h.Image.LogicalBlockSize, Is.EqualTo(512u));
    }

    [Test]
    public void WriteThenRead_RoundTrip_ChecksumsMatch_AcrossDescriptorSplits()
    {
        using BlkHarness h = new();
        byte[] data = BlkHarness.RandomBytes(64 * 1024, seed: 1);

        // Write as three uneven readable buffers (not sector multiples individually).
        DriverBuffer status = h.Status();
        BlkCompletion w = h.Run(
            h.Header(BlkRequestType.Out, 8),
            h.Readable(data.AsSpan(0, 1000)),
            h.Readable(data.AsSpan(1000, 30_000)),
            h.Readable(data.AsSpan(31_000)),
            status);
        Assert.That(w.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(w.Written, Is.EqualTo(1u));
        Assert.That(h.StatusByte(status), Is.EqualTo(0));

        // Read back as four different writable buffers.
        DriverBuffer[] parts = { h.Writable(7), h.Writable(40_000), h.Writable(4096), h.Writable(64 * 1024 - 7 - 40_000 - 4096) };
        DriverBuffer rstatus = h.Status();
        BlkCompletion r = h.Run(new[] { h.Header(BlkRequestType.In, 8) }.Concat(parts).Append(rstatus).ToArray());
        Assert.That(r.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(r.Written, Is.EqualTo((uint)data.Length + 1));
        byte[] back = parts.SelectMany(h.Read).ToArray();
        Assert.That(SHA256.HashData(back), Is.EqualTo(SHA256.HashData(data)));

        // And the file itself holds the data at sector 8.
        byte[] file = h.FileBytes();
        Assert.That(SHA256.HashData(file.AsSpan(8 * Sector, data.Length)), Is.EqualTo(SHA256.HashData(data)));
        Assert.That(file.AsSpan(0, 8 * Sector).ToArray().All(b => b == 0), Is.True);
    }

    [Test]
    public void AnyLayout_HeaderWithData_StatusWithData()
    {
        using BlkHarness h = new();
        byte[] data = BlkHarness.RandomBytes(2 * Sector, seed: 2);

        // Header and payload in one readable buffer.
        byte[] combined = new byte[16 + data.Length];
        h.Memory.GetSpan(h.Header(BlkRequestType.Out, 3).Gpa, 16).CopyTo(combined);
        data.CopyTo(combined, 16);
        DriverBuffer status = h.Status();
        Assert.That(h.Run(h.Readable(combined), status).Status, Is.EqualTo(BlkStatus.Ok));

        // Read with the status byte at the end of the single data buffer.
        DriverBuffer dataAndStatus = h.Writable(data.Length + 1);
        BlkCompletion r = h.Run(h.Header(BlkRequestType.In, 3), dataAndStatus);
        Assert.That(r.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(r.Written, Is.EqualTo((uint)data.Length + 1));
        byte[] back = h.Read(dataAndStatus);
        Assert.That(back.AsSpan(0, data.Length).SequenceEqual(data), Is.True);
        Assert.That(back[^1], Is.EqualTo((byte)BlkStatus.Ok));
    }

    [Test]
    public void LastSector_IsReachable_OneBeyondIsIoErr()
    {
        using BlkHarness h = new(imageBytes: 64 * Sector);
        byte[] data = BlkHarness.RandomBytes(Sector, seed: 3);
        Assert.That(h.Write(63, data).Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(h.ReadBack(63, Sector), Is.EqualTo(data));

        Assert.That(h.Write(64, data).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Write(63, new byte[2 * Sector]).Status, Is.EqualTo(BlkStatus.IoErr));

        DriverBuffer status = h.Status();
        BlkCompletion r = h.Run(h.Header(BlkRequestType.In, 64), h.Writable(Sector), status);
        Assert.That(r.Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(r.Written, Is.EqualTo(1u));
        Assert.That(h.StatusByte(status), Is.EqualTo((byte)BlkStatus.IoErr));

        // A sector number that would overflow a byte offset.
        Assert.That(h.Run(h.Header(BlkRequestType.In, ulong.MaxValue), h.Writable(Sector), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Write(ulong.MaxValue - 1, data).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.FileBytes()[..(63 * Sector)].All(b => b == 0), Is.True);
    }

    [Test]
    public void Write_NotSectorMultiple_IsIoErr_AndFileUntouched()
    {
        using BlkHarness h = new();
        byte[] before = SHA256.HashData(h.FileBytes());
        Assert.That(h.Write(0, new byte[Sector + 1]).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Run(h.Header(BlkRequestType.In, 0), h.Writable(100), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(SHA256.HashData(h.FileBytes()), Is.EqualTo(before));
    }

    [Test]
    public void EmptyWrite_IsOk()
    {
        using BlkHarness h = new();
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Header(BlkRequestType.Out, 0), status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(h.StatusByte(status), Is.EqualTo(0));
    }

    [Test]
    public void Writethrough_WritesStillRoundTrip()
    {
        using BlkHarness h = new();
        h.Processor.Writethrough = true;
        byte[] data = BlkHarness.RandomBytes(8 * Sector, seed: 4);
        Assert.That(h.Write(100, data).Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(h.ReadBack(100, data.Length), Is.EqualTo(data));
    }

    [Test]
    public void Flush_IsOk_WrittenOne()
    {
        using BlkHarness h = new();
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Header(BlkRequestType.Flush, 0), status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(c.Written, Is.EqualTo(1u));
        Assert.That(h.StatusByte(status), Is.EqualTo(0));
    }

    [Test]
    public void GetId_ReturnsSerialZeroPadded()
    {
        using BlkHarness h = new(serial: "disk-0042");
        DriverBuffer id = h.Writable(20, fill: 0xAA);
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Header(BlkRequestType.GetId, 0), id, status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(c.Written, Is.EqualTo(21u));
        byte[] expected = new byte[20];
        "disk-0042"u8.CopyTo(expected);
        Assert.That(h.Read(id), Is.EqualTo(expected));
    }

    [Test]
    public void GetId_FullLengthSerial_AndShortBuffer()
    {
        using BlkHarness h = new(serial: "ABCDEFGHIJKLMNOPQRST");
        DriverBuffer id = h.Writable(20);
        Assert.That(h.Run(h.Header(BlkRequestType.GetId, 0), id, h.Status()).Written, Is.EqualTo(21u));
        Assert.That(h.Read(id), Is.EqualTo("ABCDEFGHIJKLMNOPQRST"u8.ToArray()));

        DriverBuffer shortId = h.Writable(5, fill: 0xAA);
        BlkCompletion c = h.Run(h.Header(BlkRequestType.GetId, 0), shortId, h.Status());
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(c.Written, Is.EqualTo(6u));
        Assert.That(h.Read(shortId), Is.EqualTo("ABCDE"u8.ToArray()));
    }

    [Test]
    public void SerialLongerThan20Bytes_IsRejected()
    {
        using BlkHarness h = new();
        Assert.Throws<ArgumentException>(() => _ = new BlkRequestProcessor(h.Image, "123456789012345678901"));
    }

    [TestCase(2u)]
    [TestCase(3u)]
    [TestCase(10u)]
    [TestCase(14u)]
    [TestCase(99u)]
    [TestCase(0xFFFF_FFFFu)]
    public void UnsupportedType_IsUnsupp(uint type)
    {
        using BlkHarness h = new();
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Header(type, 0), h.Writable(Sector), status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Unsupp));
        Assert.That(c.Written, Is.EqualTo(1u));
        Assert.That(h.StatusByte(status), Is.EqualTo((byte)BlkStatus.Unsupp));
    }

    [Test]
    public void WriteZeroes_MultiSegment_ZeroesReadBack_NeighboursUntouched([Values(0u, 1u)] uint unmap)
    {
        using BlkHarness h = new();
        byte[] pattern = BlkHarness.RandomBytes(64 * Sector, seed: 5);
        Assert.That(h.Write(0, pattern).Status, Is.EqualTo(BlkStatus.Ok));

        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(
            h.Header(BlkRequestType.WriteZeroes, 0),
            h.Ranges((2, 3, unmap), (16, 8, unmap), (40, 1, unmap)),
            status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(h.StatusByte(status), Is.EqualTo(0));

        byte[] expected = (byte[])pattern.Clone();
        Array.Clear(expected, 2 * Sector, 3 * Sector);
        Array.Clear(expected, 16 * Sector, 8 * Sector);
        Array.Clear(expected, 40 * Sector, 1 * Sector);
        Assert.That(h.ReadBack(0, pattern.Length), Is.EqualTo(expected));
        Assert.That(h.FileBytes().Length, Is.EqualTo(1 << 20), "the image size never changes");
    }

    [Test]
    public void WriteZeroes_LargeRange_Writethrough()
    {
        using BlkHarness h = new(imageBytes: 8 << 20);
        h.Processor.Writethrough = true;
        byte[] pattern = BlkHarness.RandomBytes(4 << 20, seed: 6);
        Assert.That(h.Write(0, pattern).Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(h.Run(h.Header(BlkRequestType.WriteZeroes, 0), h.Ranges((1, (3 << 20) / Sector, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.Ok));
        byte[] back = h.ReadBack(0, pattern.Length);
        Assert.That(back.AsSpan(0, Sector).SequenceEqual(pattern.AsSpan(0, Sector)), Is.True);
        Assert.That(back.AsSpan(Sector, 3 << 20).IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        Assert.That(back.AsSpan(Sector + (3 << 20)).SequenceEqual(pattern.AsSpan(Sector + (3 << 20))), Is.True);
    }

    [Test]
    public void Discard_MultiSegment_IsOk_SizeKept()
    {
        using BlkHarness h = new();
        Assert.That(h.Write(0, BlkHarness.RandomBytes(64 * Sector, seed: 7)).Status, Is.EqualTo(BlkStatus.Ok));
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Header(BlkRequestType.Discard, 0), h.Ranges((0, 8, 0), (32, 16, 0)), status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(c.Written, Is.EqualTo(1u));
        Assert.That(h.FileBytes().Length, Is.EqualTo(1 << 20));
    }

    [TestCase(BlkRequestType.Discard)]
    [TestCase(BlkRequestType.WriteZeroes)]
    public void Ranges_OutOfRange_IsIoErr_NothingChanged(BlkRequestType type)
    {
        using BlkHarness h = new(imageBytes: 64 * Sector);
        byte[] pattern = BlkHarness.RandomBytes(64 * Sector, seed: 8);
        Assert.That(h.Write(0, pattern).Status, Is.EqualTo(BlkStatus.Ok));

        // The first segment is fine, the second runs past the end: nothing may be done.
        Assert.That(h.Run(h.Header(type, 0), h.Ranges((0, 4, 0), (60, 5, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Run(h.Header(type, 0), h.Ranges((ulong.MaxValue, 1, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Run(h.Header(type, 0), h.Ranges((0, 0, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr), "empty segment");
        Assert.That(h.Run(h.Header(type, 0), h.Ranges((0, BlkRequestProcessor.MaxDiscardSectors + 1, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr), "above max sectors");
        Assert.That(h.ReadBack(0, pattern.Length), Is.EqualTo(pattern));
    }

    [TestCase(BlkRequestType.Discard, BlkRequestProcessor.MaxDiscardSegments)]
    [TestCase(BlkRequestType.WriteZeroes, BlkRequestProcessor.MaxWriteZeroesSegments)]
    public void Ranges_SegmentCount_LimitHonoured(BlkRequestType type, int max)
    {
        using BlkHarness h = new();
        (ulong, uint, uint)[] atMax = Enumerable.Range(0, max).Select(i => ((ulong)i * 2, 1u, 0u)).ToArray();
        Assert.That(h.Run(h.Header(type, 0), h.Ranges(atMax), h.Status()).Status, Is.EqualTo(BlkStatus.Ok));

        (ulong, uint, uint)[] tooMany = Enumerable.Range(0, max + 1).Select(i => ((ulong)i * 2, 1u, 0u)).ToArray();
        Assert.That(h.Run(h.Header(type, 0), h.Ranges(tooMany), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
    }

    [TestCase(BlkRequestType.Discard)]
    [TestCase(BlkRequestType.WriteZeroes)]
    public void Ranges_MalformedPayload_IsIoErr(BlkRequestType type)
    {
        using BlkHarness h = new();
        Assert.That(h.Run(h.Header(type, 0), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr), "no segment");
        Assert.That(h.Run(h.Header(type, 0), h.Readable(new byte[15]), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr), "short segment");
        Assert.That(h.Run(h.Header(type, 0), h.Readable(new byte[24]), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr), "not a multiple of 16");
    }

    [Test]
    public void Ranges_Flags_UnknownBitsUnsupp_UnmapOnDiscardUnsupp()
    {
        using BlkHarness h = new();
        Assert.That(h.Run(h.Header(BlkRequestType.WriteZeroes, 0), h.Ranges((0, 1, 2)), h.Status()).Status, Is.EqualTo(BlkStatus.Unsupp));
        Assert.That(h.Run(h.Header(BlkRequestType.Discard, 0), h.Ranges((0, 1, 1)), h.Status()).Status, Is.EqualTo(BlkStatus.Unsupp));
        Assert.That(h.Run(h.Header(BlkRequestType.Discard, 0), h.Ranges((0, 1, 0x8000_0000)), h.Status()).Status, Is.EqualTo(BlkStatus.Unsupp));
    }

    [Test]
    public void ReadOnly_RefusesWrites_DataUntouched()
    {
        byte[] contents = BlkHarness.RandomBytes(1 << 20, seed: 9);
        using BlkHarness h = new(readOnly: true, contents: contents);
        byte[] before = SHA256.HashData(h.FileBytes());

        DriverBuffer s1 = h.Status();
        BlkCompletion w = h.Run(h.Header(BlkRequestType.Out, 0), h.Readable(new byte[4 * Sector]), s1);
        Assert.That(w.Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.StatusByte(s1), Is.EqualTo((byte)BlkStatus.IoErr));
        Assert.That(h.Run(h.Header(BlkRequestType.Discard, 0), h.Ranges((0, 8, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Run(h.Header(BlkRequestType.WriteZeroes, 0), h.Ranges((0, 8, 1)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.Run(h.Header(BlkRequestType.WriteZeroes, 0), h.Ranges((0, 8, 0)), h.Status()).Status, Is.EqualTo(BlkStatus.IoErr));

        // Reads and flushes still work.
        Assert.That(h.ReadBack(0, 4 * Sector), Is.EqualTo(contents[..(4 * Sector)]));
        Assert.That(h.Run(h.Header(BlkRequestType.Flush, 0), h.Status()).Status, Is.EqualTo(BlkStatus.Ok));
        Assert.That(SHA256.HashData(h.FileBytes()), Is.EqualTo(before));
    }

    [Test]
    public void Malformed_NoWritableBuffer_IsBroken()
    {
        using BlkHarness h = new();
        BlkCompletion c = h.Run(h.Header(BlkRequestType.Flush, 0));
        Assert.That(c.IsBroken, Is.True);
        Assert.That(c.BrokenReason, Does.Contain("status"));

        BlkCompletion zero = h.Run(h.Header(BlkRequestType.In, 0), h.Writable(0));
        Assert.That(zero.IsBroken, Is.True, "a zero-length writable buffer holds no status byte");
    }

    [Test]
    public void Malformed_StatusOutsideMemory_IsBroken()
    {
        using BlkHarness h = new();
        DriverBuffer header = h.Header(BlkRequestType.Flush, 0);
        BlkCompletion c = h.Processor.Process(
            new[] { new Descriptor(header.Gpa, 16, false) },
            new[] { new Descriptor(0x10, 1, true) },
            h.Memory.Map);
        Assert.That(c.IsBroken, Is.True);
    }

    [Test]
    public void Malformed_ShortHeader_IsIoErr()
    {
        using BlkHarness h = new();
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Readable(new byte[8]), status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(c.Written, Is.EqualTo(1u));
        Assert.That(h.StatusByte(status), Is.EqualTo((byte)BlkStatus.IoErr));

        Assert.That(h.Run(h.Status()).Status, Is.EqualTo(BlkStatus.IoErr), "no readable buffer at all");
    }

    [Test]
    public void Malformed_HeaderSplitAcrossBuffers_IsAccepted()
    {
        using BlkHarness h = new();
        DriverBuffer header = h.Header(BlkRequestType.Flush, 0);
        byte[] raw = h.Read(header);
        BlkCompletion c = h.Run(h.Readable(raw.AsSpan(0, 5)), h.Readable(raw.AsSpan(5)), h.Status());
        Assert.That(c.Status, Is.EqualTo(BlkStatus.Ok));
    }

    [Test]
    public void Malformed_ReadWithoutDataBuffer_IsIoErr()
    {
        using BlkHarness h = new();
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Run(h.Header(BlkRequestType.In, 0), status);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(c.Written, Is.EqualTo(1u));
    }

    [Test]
    public void Malformed_DataOutsideGuestMemory_IsIoErr()
    {
        using BlkHarness h = new();
        DriverBuffer header = h.Header(BlkRequestType.In, 0);
        DriverBuffer status = h.Status();
        BlkCompletion c = h.Processor.Process(
            new[] { new Descriptor(header.Gpa, 16, false) },
            new[] { new Descriptor(0x1000, Sector, true), new Descriptor(status.Gpa, 1, true) },
            h.Memory.Map);
        Assert.That(c.Status, Is.EqualTo(BlkStatus.IoErr));
        Assert.That(h.StatusByte(status), Is.EqualTo((byte)BlkStatus.IoErr));
    }

    [Test]
    public void Fuzz_RandomChains_NeverThrow()
    {
        using BlkHarness h = new(imageBytes: 256 * Sector);
        Random rng = new(1234);
        ulong baseGpa = h.Memory.Alloc(1 << 20);
        h.Memory.GetSpan(baseGpa, 1 << 20).Clear();
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            // Random bytes in a small window, so headers often hit real types and small sectors.
            byte[] junk = new byte[64];
            rng.NextBytes(junk);
            junk[0] = (byte)rng.Next(0, 16);
            junk[1] = junk[2] = junk[3] = 0;
            if (rng.Next(2) == 0)
            {
                Array.Clear(junk, 9, 7);
            }

            ulong at = baseGpa + (ulong)rng.Next(0, (1 << 20) - 4096);
            h.Memory.WriteBytes(at, junk);
            int nr = rng.Next(0, 4);
            int nw = rng.Next(0, 4);
            Descriptor[] r = new Descriptor[nr];
            Descriptor[] w = new Descriptor[nw];
            for (int i = 0; i < nr; i++)
            {
                r[i] = new Descriptor(rng.Next(8) == 0 ? (ulong)rng.NextInt64() : at + (ulong)(i * 16), (uint)rng.Next(0, 2048), false);
            }

            for (int i = 0; i < nw; i++)
            {
                w[i] = new Descriptor(rng.Next(8) == 0 ? (ulong)rng.NextInt64() : baseGpa + (ulong)rng.Next(0, 1 << 19), (uint)rng.Next(0, 2048), true);
            }

            Assert.DoesNotThrow(() => h.Processor.Process(r, w, h.Memory.Map));
        }
    }
}
