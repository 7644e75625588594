// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console.Endpoints;

/// <summary>What a non-blocking read or write did.</summary>
internal enum IoStatus
{
    /// <summary>Some bytes moved (<see cref="IoResult.Bytes"/>, possibly fewer than asked).</summary>
    Done,

    /// <summary>Nothing can move now; wait for readiness.</summary>
    WouldBlock,

    /// <summary>The peer is gone (end of file, hang-up, reset) or the fd failed; <see cref="IoResult.Errno"/> says which.</summary>
    Closed,
}

/// <summary>The outcome of one non-blocking transfer.</summary>
internal readonly record struct IoResult(IoStatus Status, int Bytes, int Errno)
{
    public static IoResult WouldBlock => new(IoStatus.WouldBlock, 0, LibC.EAGAIN);

    public static IoResult Moved(int bytes) => new(IoStatus.Done, bytes, 0);

    public static IoResult Closed(int errno) => new(IoStatus.Closed, 0, errno);
}

/// <summary>
/// Non-blocking reads and writes on an endpoint's fd (<see cref="FileIo"/>: EINTR retried), with
/// EAGAIN as <see cref="IoStatus.WouldBlock"/> and end of file or errors (hang-up, reset) as
/// <see cref="IoStatus.Closed"/>. No allocation while data moves: the spans go straight to the call.
/// </summary>
/// <remarks>The .NET runtime ignores SIGPIPE, so a write to a socket whose peer left fails with EPIPE.</remarks>
internal static class FdIo
{
    /// <summary>Reads into <paramref name="buffer"/> (at most its length).</summary>
    public static IoResult Read(FileDescriptor fd, Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return IoResult.Moved(0);
        }

        try
        {
            int n = FileIo.Read(fd, buffer);
            return n > 0 ? IoResult.Moved(n) : n == 0 ? IoResult.Closed(0) : IoResult.WouldBlock;
        }
        catch (SysException e)
        {
            return IoResult.Closed(e.Errno);
        }
    }

    /// <summary>Writes from <paramref name="data"/> (possibly fewer bytes).</summary>
    public static IoResult Write(FileDescriptor fd, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return IoResult.Moved(0);
        }

        try
        {
            int n = FileIo.Write(fd, data);
            return n >= 0 ? IoResult.Moved(n) : IoResult.WouldBlock;
        }
        catch (SysException e)
        {
            return IoResult.Closed(e.Errno);
        }
    }
}
