// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;
using VirtioLoopback.Hid.Interop;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Hid;

/// <summary>A real <c>/dev/hidrawN</c>, opened read-write and close-on-exec.</summary>
public sealed unsafe class HidrawDevice : IHidrawDevice
{
    private readonly FileDescriptor _fd;

    private HidrawDevice(FileDescriptor fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    /// <inheritdoc />
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/>; false with the errno when it cannot be opened.</summary>
    public static bool TryOpen(string path, out HidrawDevice? device, out int errno)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int fd = Native.Open(path, Native.O_RDWR | Native.O_CLOEXEC);
        if (fd < 0)
        {
            errno = Marshal.GetLastSystemError();
            device = null;
            return false;
        }

        errno = 0;
        device = new HidrawDevice(FileDescriptor.Adopt(fd), path);
        return true;
    }

    /// <summary>Opens <paramref name="path"/>.</summary>
    /// <exception cref="SysException">It cannot be opened.</exception>
    public static HidrawDevice Open(string path)
    {
        if (!TryOpen(path, out HidrawDevice? device, out int errno))
        {
            throw new SysException($"open {path}", errno);
        }

        return device!;
    }

    /// <summary><c>HIDIOCGRAWINFO</c>: bus, vendor and product.</summary>
    /// <exception cref="SysException">The ioctl failed (not a hidraw node).</exception>
    public HidrawDevInfo GetInfo()
    {
        HidrawDevInfo info = default;
        IoCtl.Invoke(_fd, HidrawIoctl.GetRawInfo, ref info);
        return info;
    }

    /// <summary><c>HIDIOCGRAWNAME</c>: the device's name.</summary>
    public string GetName()
    {
        Span<byte> buffer = stackalloc byte[256];
        buffer.Clear();
        IoCtl.Invoke(_fd, HidrawIoctl.GetRawName(buffer.Length), buffer);
        int nul = buffer.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(nul < 0 ? buffer : buffer[..nul]);
    }

    /// <inheritdoc />
    public int GetFeature(Span<byte> report)
    {
        if (report.IsEmpty)
        {
            throw new ArgumentException("A feature report needs at least the report id.", nameof(report));
        }

        return IoCtl.Invoke(_fd, HidrawIoctl.GetFeature(report.Length), report);
    }

    /// <inheritdoc />
    public void SetFeature(ReadOnlySpan<byte> report)
    {
        if (report.IsEmpty)
        {
            throw new ArgumentException("A feature report needs at least the report id.", nameof(report));
        }

        // The ioctl is _IOWR, yet HIDIOCSFEATURE only reads the buffer: copy so a read-only span is safe.
        Span<byte> copy = stackalloc byte[report.Length];
        report.CopyTo(copy);
        IoCtl.Invoke(_fd, HidrawIoctl.SetFeature(copy.Length), copy);
    }

    /// <inheritdoc />
    public bool WaitGone(int timeoutMs)
    {
        using FdRef r = new(_fd);
        Native.PollFd p = new() { Fd = r.Fd, Events = 0 };
        long deadline = Environment.TickCount64 + Math.Max(0, timeoutMs);
        while (true)
        {
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            int n = Native.Poll(&p, 1, left);
            if (n < 0 && Marshal.GetLastSystemError() == Native.EINTR)
            {
                continue;
            }

            // Only hang-up, error and invalid are reported: no events were asked for.
            return n > 0 && (p.Revents & (Native.POLLHUP | Native.POLLERR | Native.POLLNVAL)) != 0;
        }
    }

    /// <summary>Closes the node.</summary>
    public void Dispose() => _fd.Dispose();
}
