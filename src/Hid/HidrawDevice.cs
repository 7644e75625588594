// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Hid;

/// <summary>A real <c>/dev/hidrawN</c>, opened read-write and close-on-exec.</summary>
public sealed class HidrawDevice : IHidrawDevice
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
        if (!FileIo.TryOpen(path, LibC.O_RDWR, out FileDescriptor? fd, out errno))
        {
            device = null;
            return false;
        }

        device = new HidrawDevice(fd, path);
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
        // No events are asked for: only hang-up, error and invalid are reported, and EINTR is retried
        // with the time that is left.
        return Poll.Wait(_fd, PollEvents.None, Deadline.After(Math.Max(0, timeoutMs))) == WaitResult.Ready;
    }

    /// <summary>Closes the node.</summary>
    public void Dispose() => _fd.Dispose();
}
