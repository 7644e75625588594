// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using NUnit.Framework;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

/// <summary>virtio-blk as the tests read the spec (§5.2), independent of Devices.Blk's constants.</summary>
internal static class BlkWire
{
    public const uint In = 0;
    public const uint Out = 1;
    public const uint Flush = 4;
    public const uint GetId = 8;
    public const uint Discard = 11;
    public const uint WriteZeroes = 13;

    public const byte StatusOk = 0;
    public const byte StatusIoErr = 1;
    public const byte StatusUnsupp = 2;

    public const int SectorSize = 512;
    public const int IdBytes = 20;
    public const uint UnmapFlag = 1;

    public const ulong FeatureSegMax = 1UL << 2;
    public const ulong FeatureRo = 1UL << 5;
    public const ulong FeatureBlkSize = 1UL << 6;
    public const ulong FeatureFlush = 1UL << 9;
    public const ulong FeatureConfigWce = 1UL << 11;
    public const ulong FeatureMq = 1UL << 12;
    public const ulong FeatureDiscard = 1UL << 13;
    public const ulong FeatureWriteZeroes = 1UL << 14;

    // struct virtio_blk_config offsets.
    public const int ConfigCapacity = 0;
    public const int ConfigSegMax = 12;
    public const int ConfigBlkSize = 20;
    public const int ConfigWriteback = 32;
    public const int ConfigNumQueues = 34;
    public const int ConfigMaxDiscardSectors = 36;
    public const int ConfigMaxDiscardSeg = 40;
    public const int ConfigDiscardSectorAlignment = 44;
    public const int ConfigMaxWriteZeroesSectors = 48;
    public const int ConfigMaxWriteZeroesSeg = 52;
    public const int ConfigWriteZeroesMayUnmap = 56;
    public const int ConfigSize = 60;

    /// <summary>One discard/write-zeroes range (<c>struct virtio_blk_discard_write_zeroes</c>).</summary>
    public static byte[] Segments(params (ulong Sector, uint Sectors, uint Flags)[] ranges)
    {
        byte[] bytes = new byte[16 * ranges.Length];
        for (int i = 0; i < ranges.Length; i++)
        {
            Span<byte> s = bytes.AsSpan(16 * i, 16);
            BinaryPrimitives.WriteUInt64LittleEndian(s, ranges[i].Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(s[8..], ranges[i].Sectors);
            BinaryPrimitives.WriteUInt32LittleEndian(s[12..], ranges[i].Flags);
        }

        return bytes;
    }

    /// <summary>Creates a sparse image of <paramref name="bytes"/> (optionally filled with <paramref name="content"/>).</summary>
    public static string CreateImage(string dir, long bytes, byte[]? content = null)
    {
        string path = Path.Combine(dir, "disk.img");
        using FileStream f = new(path, FileMode.Create, FileAccess.ReadWrite);
        f.SetLength(bytes);
        if (content is not null)
        {
            f.Write(content);
        }

        return path;
    }

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    public static string Sha256File(string path)
    {
        using FileStream f = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Convert.ToHexString(SHA256.HashData(f));
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/> of the image file.</summary>
    public static byte[] ReadFile(string path, long offset, int length)
    {
        using FileStream f = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = offset;
        byte[] data = new byte[length];
        f.ReadExactly(data);
        return data;
    }
}

/// <summary>One virtio-blk request placed in guest memory.</summary>
internal sealed class BlkRequest
{
    public required ushort Head { get; init; }

    public required uint Type { get; init; }

    public required ulong Sector { get; init; }

    public required ulong StatusGpa { get; init; }

    /// <summary>The device-writable data buffers (IN, GET_ID) in order.</summary>
    public required List<(ulong Gpa, int Length)> InBuffers { get; init; }

    public int InLength { get; init; }

    /// <summary>The driver's copy of what an OUT request carries.</summary>
    public byte[]? OutData { get; init; }
}

/// <summary>
/// Builds virtio-blk requests in the harness's guest memory: header (readable), data split into
/// several buffers at uneven, non-contiguous places, status byte (writable, pre-set to 0xff so an
/// unwritten status shows), direct or indirect.
/// </summary>
internal sealed class BlkDriver(FrontendHarness harness, int seed = 1)
{
    private readonly Random _random = new(seed);

    public FrontendHarness Harness => harness;

    /// <summary>Writes a request into guest memory and the ring without publishing it.</summary>
    public BlkRequest Stage(int queue, uint type, ulong sector, ReadOnlySpan<byte> outData = default, int inLength = 0, int pieces = 1, bool indirect = false)
    {
        TestGuestMemory m = harness.Memory;
        List<DriverBuffer> buffers = new();
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, type);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], sector);
        buffers.Add(DriverBuffer.DeviceReadable(m.AllocBytes(header), 16));

        foreach ((int offset, int length) in Split(outData.Length, pieces))
        {
            ulong gpa = AllocSpaced(length);
            m.WriteBytes(gpa, outData.Slice(offset, length));
            buffers.Add(DriverBuffer.DeviceReadable(gpa, (uint)length));
        }

        List<(ulong, int)> inBuffers = new();
        foreach ((_, int length) in Split(inLength, pieces))
        {
            ulong gpa = AllocSpaced(length);
            m.Fill(gpa, length, 0xcc);
            buffers.Add(DriverBuffer.DeviceWritable(gpa, (uint)length));
            inBuffers.Add((gpa, length));
        }

        ulong status = harness.Alloc(1, 1);
        m.WriteBytes(status, [0xff]);
        buffers.Add(DriverBuffer.DeviceWritable(status, 1));

        DriverQueue d = harness.Queues[queue].Driver;
        ushort head = indirect ? d.StageIndirectChain(buffers.ToArray()) : d.StageChain(buffers.ToArray());
        return new BlkRequest
        {
            Head = head,
            Type = type,
            Sector = sector,
            StatusGpa = status,
            InBuffers = inBuffers,
            InLength = inLength,
            OutData = outData.IsEmpty ? null : outData.ToArray(),
        };
    }

    /// <summary>Publishes the staged requests of ring <paramref name="queue"/> and kicks.</summary>
    public void Publish(int queue)
    {
        harness.Queues[queue].Driver.Publish();
        harness.Kick(queue);
    }

    /// <summary>Submits one request and waits for it: its status and used length.</summary>
    public (byte Status, uint Written, BlkRequest Request) Execute(int queue, uint type, ulong sector, ReadOnlySpan<byte> outData = default, int inLength = 0, int pieces = 1, bool indirect = false)
    {
        BlkRequest r = Stage(queue, type, sector, outData, inLength, pieces, indirect);
        Publish(queue);
        (ushort id, uint written) = harness.WaitUsed(queue);
        Assert.That(id, Is.EqualTo(r.Head), "the used element names another chain");
        return (StatusOf(r), written, r);
    }

    public byte StatusOf(BlkRequest r) => harness.Memory.ReadBytes(r.StatusGpa, 1)[0];

    /// <summary>The data an IN/GET_ID request received, its buffers concatenated.</summary>
    public byte[] DataOf(BlkRequest r)
    {
        byte[] data = new byte[r.InLength];
        int at = 0;
        foreach ((ulong gpa, int length) in r.InBuffers)
        {
            harness.Memory.ReadBytes(gpa, length).CopyTo(data, at);
            at += length;
        }

        return data;
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="sector"/> and asserts success.</summary>
    public void Write(int queue, ulong sector, byte[] data, int pieces = 1, bool indirect = false)
    {
        (byte status, _, _) = Execute(queue, BlkWire.Out, sector, data, 0, pieces, indirect);
        Assert.That(status, Is.EqualTo(BlkWire.StatusOk), $"write of {data.Length} bytes at sector {sector}");
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="sector"/> and asserts success and the used length.</summary>
    public byte[] Read(int queue, ulong sector, int length, int pieces = 1, bool indirect = false)
    {
        (byte status, uint written, BlkRequest r) = Execute(queue, BlkWire.In, sector, default, length, pieces, indirect);
        Assert.That(status, Is.EqualTo(BlkWire.StatusOk), $"read of {length} bytes at sector {sector}");
        Assert.That(written, Is.EqualTo((uint)length + 1), "a read's used length is its data plus the status byte");
        return DataOf(r);
    }

    public byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        _random.NextBytes(data);
        return data;
    }

    /// <summary>Splits <paramref name="total"/> bytes into up to <paramref name="pieces"/> uneven, non-empty pieces.</summary>
    private List<(int Offset, int Length)> Split(int total, int pieces)
    {
        List<(int, int)> result = new();
        if (total == 0)
        {
            return result;
        }

        pieces = Math.Max(1, Math.Min(pieces, total));
        SortedSet<int> cuts = new();
        while (cuts.Count < pieces - 1)
        {
            cuts.Add(_random.Next(1, total));
        }

        int start = 0;
        foreach (int cut in cuts)
        {
            result.Add((start, cut - start));
            start = cut;
        }

        result.Add((start, total - start));
        return result;
    }

    /// <summary>Allocates a buffer with a random gap before it, so neighbouring buffers are not contiguous.</summary>
    private ulong AllocSpaced(int length)
    {
        harness.Alloc(_random.Next(1, 200), 1);
        return harness.Alloc(length, 1);
    }
}
