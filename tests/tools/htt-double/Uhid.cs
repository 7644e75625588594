// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Text;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tools.HttDouble;

/// <summary>
/// <c>/dev/uhid</c>: <c>struct uhid_event</c> of <c>linux/uhid.h</c> (packed: u32 type, then the union),
/// encoded by hand with the offsets of the kernel's header.
/// </summary>
internal sealed unsafe class Uhid : IDisposable
{
    /// <summary><c>sizeof(struct uhid_event)</c>: 4 + <c>sizeof(struct uhid_create2_req)</c> (4372).</summary>
    public const int EventSize = 4376;

    public const uint Destroy = 1;
    public const uint Start = 2;
    public const uint Stop = 3;
    public const uint Open = 4;
    public const uint Close = 5;
    public const uint Output = 6;
    public const uint GetReport = 9;
    public const uint GetReportReply = 10;
    public const uint Create2 = 11;
    public const uint Input2 = 12;
    public const uint SetReport = 13;
    public const uint SetReportReply = 14;

    /// <summary><c>UHID_FEATURE_REPORT</c>.</summary>
    public const byte FeatureReport = 0;

    private const ushort BusUsb = 3;

    private readonly FileDescriptor _fd;
    private readonly byte[] _out = new byte[EventSize];

    private Uhid(FileDescriptor fd) => _fd = fd;

    public FileDescriptor Handle => _fd;

    public static Uhid OpenNode(string path)
    {
        int fd;
        fixed (byte* p = Encoding.UTF8.GetBytes(path + "\0"))
        {
            fd = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
        }

        if (fd < 0)
        {
            throw new SysException($"open({path})", LibC.errno);
        }

        return new Uhid(FileDescriptor.Adopt(fd));
    }

    /// <summary>UHID_CREATE2.</summary>
    public void Create(string name, string phys, ushort vendor, ushort product, ReadOnlySpan<byte> descriptor)
    {
        Span<byte> e = Begin(Create2);
        Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, 127)), e.Slice(4, 128));
        Encoding.UTF8.GetBytes(phys.AsSpan(0, Math.Min(phys.Length, 63)), e.Slice(132, 64));
        BinaryPrimitives.WriteUInt16LittleEndian(e[260..], (ushort)descriptor.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(e[262..], BusUsb);
        BinaryPrimitives.WriteUInt32LittleEndian(e[264..], vendor);
        BinaryPrimitives.WriteUInt32LittleEndian(e[268..], product);
        BinaryPrimitives.WriteUInt32LittleEndian(e[272..], 0x0100);
        descriptor.CopyTo(e[280..]);
        Send();
    }

    /// <summary>UHID_DESTROY.</summary>
    public void DestroyDevice()
    {
        Begin(Destroy);
        Send();
    }

    /// <summary>UHID_INPUT2 with one input report.</summary>
    public void Input(ReadOnlySpan<byte> report)
    {
        Span<byte> e = Begin(Input2);
        BinaryPrimitives.WriteUInt16LittleEndian(e[4..], (ushort)report.Length);
        report.CopyTo(e[6..]);
        Send();
    }

    /// <summary>UHID_GET_REPORT_REPLY: <paramref name="data"/> starts with the report id; err 0 for success.</summary>
    public void ReplyGet(uint id, ushort err, ReadOnlySpan<byte> data)
    {
        Span<byte> e = Begin(GetReportReply);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], id);
        BinaryPrimitives.WriteUInt16LittleEndian(e[8..], err);
        BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)data.Length);
        data.CopyTo(e[12..]);
        Send();
    }

    /// <summary>UHID_SET_REPORT_REPLY.</summary>
    public void ReplySet(uint id, ushort err)
    {
        Span<byte> e = Begin(SetReportReply);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], id);
        BinaryPrimitives.WriteUInt16LittleEndian(e[8..], err);
        Send();
    }

    /// <summary>Reads one event; false when none is pending.</summary>
    public bool TryRead(byte[] buffer)
    {
        using FdRef r = new(_fd);
        fixed (byte* p = buffer)
        {
            long n;
            while ((n = LibC.read(r.Fd, p, buffer.Length)) < 0 && LibC.errno == LibC.EINTR)
            {
            }

            if (n < 0)
            {
                if (LibC.errno == LibC.EAGAIN)
                {
                    return false;
                }

                throw new SysException("read(uhid)", LibC.errno);
            }

            return n >= 4;
        }
    }

    public void Dispose() => _fd.Dispose();

    private Span<byte> Begin(uint type)
    {
        Array.Clear(_out);
        BinaryPrimitives.WriteUInt32LittleEndian(_out, type);
        return _out;
    }

    private void Send()
    {
        using FdRef r = new(_fd);
        fixed (byte* p = _out)
        {
            long n;
            while ((n = LibC.write(r.Fd, p, _out.Length)) < 0 && LibC.errno == LibC.EINTR)
            {
            }

            if (n < 0)
            {
                throw new SysException("write(uhid)", LibC.errno);
            }
        }
    }
}
