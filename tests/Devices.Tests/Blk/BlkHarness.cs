// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests.Blk;

/// <summary>
/// A temp image file, memfd-backed guest memory and a <see cref="BlkRequestProcessor"/>; builds
/// request chains the way a driver lays them out and runs them synchronously.
/// </summary>
internal sealed class BlkHarness : IDisposable
{
    public const int Sector = 512;

    public BlkHarness(long imageBytes = 1 << 20, bool readOnly = false, string? serial = null, byte[]? contents = null)
    {
        ImagePath = NewImagePath();
        using (FileStream f = new(ImagePath, FileMode.CreateNew, FileAccess.Write))
        {
            if (contents is not null)
            {
                f.Write(contents);
            }

            f.SetLength(imageBytes);
        }

        Memory = new TestGuestMemory(32 << 20);
        Image = BlkImage.Open(ImagePath, readOnly);
        Processor = new BlkRequestProcessor(Image, serial);
    }

    public string ImagePath { get; }

    public TestGuestMemory Memory { get; }

    public BlkImage Image { get; }

    public BlkRequestProcessor Processor { get; }

    public static string NewImagePath() =>
        Path.Combine(Path.GetTempPath(), $"vl-blk-test-{Environment.ProcessId}-{Guid.NewGuid():N}.img");

    public static byte[] RandomBytes(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public DriverBuffer Header(BlkRequestType type, ulong sector) => Header((uint)type, sector);

    public DriverBuffer Header(uint type, ulong sector)
    {
        Span<byte> h = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
        return DriverBuffer.DeviceReadable(Memory.AllocBytes(h), 16);
    }

    public DriverBuffer Readable(ReadOnlySpan<byte> data) => DriverBuffer.DeviceReadable(Memory.AllocBytes(data), (uint)data.Length);

    public DriverBuffer Writable(int length, byte fill = 0xCC)
    {
        ulong gpa = Memory.Alloc((ulong)Math.Max(length, 1));
        Memory.Fill(gpa, length, fill);
        return DriverBuffer.DeviceWritable(gpa, (uint)length);
    }

    public DriverBuffer Status() => Writable(1, 0xEE);

    /// <summary>A discard/write-zeroes payload of <paramref name="segments"/> as one readable buffer.</summary>
    public DriverBuffer Ranges(params (ulong Sector, uint Sectors, uint Flags)[] segments)
    {
        byte[] payload = new byte[16 * segments.Length];
        for (int i = 0; i < segments.Length; i++)
        {
            Span<byte> s = payload.AsSpan(16 * i, 16);
            BinaryPrimitives.WriteUInt64LittleEndian(s, segments[i].Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(s[8..], segments[i].Sectors);
            BinaryPrimitives.WriteUInt32LittleEndian(s[12..], segments[i].Flags);
        }

        return Readable(payload);
    }

    public BlkCompletion Run(params DriverBuffer[] buffers)
    {
        List<Descriptor> readable = new();
        List<Descriptor> writable = new();
        foreach (DriverBuffer b in buffers)
        {
            (b.IsWritable ? writable : readable).Add(new Descriptor(b.Gpa, b.Length, b.IsWritable));
        }

        return Processor.Process(readable.ToArray(), writable.ToArray(), Memory.Map);
    }

    public byte StatusByte(DriverBuffer status) => Memory.GetSpan(status.Gpa + status.Length - 1, 1)[0];

    public byte[] Read(DriverBuffer buffer) => Memory.ReadBytes(buffer.Gpa, (int)buffer.Length);

    /// <summary>Writes <paramref name="data"/> at <paramref name="sector"/> through the device, in one buffer.</summary>
    public BlkCompletion Write(ulong sector, byte[] data)
    {
        DriverBuffer status = Status();
        return Run(Header(BlkRequestType.Out, sector), Readable(data), status);
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="sector"/> through the device.</summary>
    public byte[] ReadBack(ulong sector, int length)
    {
        DriverBuffer data = Writable(length);
        DriverBuffer status = Status();
        BlkCompletion c = Run(Header(BlkRequestType.In, sector), data, status);
        if (c.Status != BlkStatus.Ok)
        {
            throw new InvalidOperationException($"read failed: {c.Status}");
        }

        return Read(data);
    }

    public byte[] FileBytes()
    {
        using FileStream f = new(ImagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        byte[] all = new byte[f.Length];
        f.ReadExactly(all);
        return all;
    }

    public void Dispose()
    {
        Image.Dispose();
        Memory.Dispose();
        File.Delete(ImagePath);
    }
}
