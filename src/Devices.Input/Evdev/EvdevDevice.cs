// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Input.Evdev;

/// <summary>A real evdev node (<c>/dev/input/eventN</c>), opened non-blocking and close-on-exec.</summary>
/// <remarks>
/// Reads go through a buffer allocated once; each <c>struct input_event</c> is 24 bytes on 64-bit
/// kernels (a 16-byte <c>timeval</c>, u16 type, u16 code, s32 value) and is converted to
/// <see cref="InputEvent"/> without allocating.
/// </remarks>
public sealed class EvdevDevice : IEvdevDevice
{
    /// <summary><c>sizeof(struct input_event)</c> on 64-bit Linux.</summary>
    public const int KernelEventSize = 24;

    private const int ReadBatch = 64;

    private readonly FileDescriptor _fd;
    private readonly byte[] _readBuffer = new byte[ReadBatch * KernelEventSize];

    private EvdevDevice(FileDescriptor fd, string path, bool writable, bool grabbed)
    {
        _fd = fd;
        Path = path;
        IsWritable = writable;
        IsGrabbed = grabbed;
    }

    /// <summary>The node's path.</summary>
    public string Path { get; }

    /// <summary>Whether the node was opened read-write (LED and sound writes need it).</summary>
    public bool IsWritable { get; }

    /// <summary>Whether this process holds the node's exclusive grab.</summary>
    public bool IsGrabbed { get; }

    /// <inheritdoc />
    public FileDescriptor PollHandle => _fd;

    /// <summary>
    /// Opens <paramref name="path"/> read-write (read-only when that is refused), checks it is an
    /// evdev node, and grabs it with <c>EVIOCGRAB</c> when <paramref name="grab"/> is set.
    /// </summary>
    /// <exception cref="SysException">The node cannot be opened, is not evdev, or is grabbed by another process.</exception>
    public static EvdevDevice Open(string path, bool grab)
    {
        if (!TryOpen(path, grab, out EvdevDevice? device, out int errno, out string call))
        {
            throw new SysException(call, errno);
        }

        return device;
    }

    /// <summary>Like <see cref="Open"/>, but returns false with the errno and the failing call.</summary>
    public static bool TryOpen(string path, bool grab, [NotNullWhen(true)] out EvdevDevice? device, out int errno, out string call)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        device = null;
        call = "open";
        bool writable = true;
        if (!FileIo.TryOpen(path, LibC.O_RDWR | LibC.O_NONBLOCK, out FileDescriptor? handle, out errno))
        {
            if (errno != LibC.EACCES && errno != LibC.EPERM && errno != LibC.EROFS)
            {
                return false;
            }

            // LEDs cannot be set then, but input still flows.
            writable = false;
            if (!FileIo.TryOpen(path, LibC.O_RDONLY | LibC.O_NONBLOCK, out handle, out errno))
            {
                return false;
            }
        }

        try
        {
            int version = 0;
            call = "ioctl(EVIOCGVERSION)";
            IoCtl.Invoke(handle, EvdevIoctl.GetVersion, ref version);
            if (grab)
            {
                call = "ioctl(EVIOCGRAB)";
                IoCtl.Invoke(handle, EvdevIoctl.Grab, 1);
            }
        }
        catch (SysException e)
        {
            handle.Dispose();
            errno = e.Errno;
            return false;
        }

        errno = 0;
        device = new EvdevDevice(handle, path, writable, grab);
        return true;
    }

    /// <inheritdoc />
    public int GetName(Span<byte> buffer) => StringQuery(EvdevIoctl.GetName(buffer.Length), buffer);

    /// <inheritdoc />
    public int GetUniq(Span<byte> buffer) => StringQuery(EvdevIoctl.GetUniq(buffer.Length), buffer);

    /// <inheritdoc />
    public InputDeviceIds GetIds()
    {
        InputDeviceIds ids = default;
        return TryIoctl(EvdevIoctl.GetId, ref ids) < 0 ? default : ids;
    }

    /// <inheritdoc />
    public int GetPropertyBits(Span<byte> bitmap) => BufferQuery(EvdevIoctl.GetProperties(bitmap.Length), bitmap);

    /// <inheritdoc />
    public int GetEventBits(int eventType, Span<byte> bitmap) => BufferQuery(EvdevIoctl.GetBits(eventType, bitmap.Length), bitmap);

    /// <inheritdoc />
    public bool TryGetAbsInfo(int axis, out InputAbsInfo info)
    {
        InputAbsInfo value = default;
        bool ok = TryIoctl(EvdevIoctl.GetAbs(axis), ref value) >= 0;
        info = ok ? value : default;
        return ok;
    }

    /// <inheritdoc />
    public int GetKeyState(Span<byte> bitmap) => BufferQuery(EvdevIoctl.GetKeyState(bitmap.Length), bitmap);

    /// <inheritdoc />
    public int GetSwitchState(Span<byte> bitmap) => BufferQuery(EvdevIoctl.GetSwitchState(bitmap.Length), bitmap);

    /// <inheritdoc />
    public EvdevReadStatus Read(Span<InputEvent> events, out int count)
    {
        count = 0;
        int want = Math.Min(events.Length, ReadBatch);
        if (want == 0)
        {
            return EvdevReadStatus.Ok;
        }

        int n;
        try
        {
            n = FileIo.Read(_fd, _readBuffer.AsSpan(0, want * KernelEventSize));
        }
        catch (SysException)
        {
            // ENODEV (unplugged), EIO and the rest: the node is gone.
            return EvdevReadStatus.Gone;
        }

        if (n < 0)
        {
            return EvdevReadStatus.WouldBlock;
        }

        if (n == 0)
        {
            return EvdevReadStatus.Gone;
        }

        // evdev returns whole events only.
        int whole = n / KernelEventSize;
        ReadOnlySpan<byte> raw = _readBuffer;
        for (int i = 0; i < whole; i++)
        {
            ReadOnlySpan<byte> e = raw.Slice(i * KernelEventSize, KernelEventSize);
            events[i] = new InputEvent(
                MemoryMarshal.Read<ushort>(e[16..]),
                MemoryMarshal.Read<ushort>(e[18..]),
                MemoryMarshal.Read<int>(e[20..]));
        }

        count = whole;
        return EvdevReadStatus.Ok;
    }

    /// <inheritdoc />
    public int Write(InputEvent inputEvent)
    {
        // Two kernel events, the second a SYN_REPORT; the time fields are ignored on write.
        Span<byte> buffer = stackalloc byte[2 * KernelEventSize];
        buffer.Clear();
        MemoryMarshal.Write(buffer[16..], inputEvent.Type);
        MemoryMarshal.Write(buffer[18..], inputEvent.Code);
        MemoryMarshal.Write(buffer[20..], inputEvent.Value);
        try
        {
            int n = FileIo.Write(_fd, buffer);
            return n == buffer.Length ? 0 : LibC.EIO;
        }
        catch (SysException e)
        {
            return e.Errno;
        }
    }

    /// <summary>Closes the node (which also releases the grab).</summary>
    public void Dispose() => _fd.Dispose();

    private int StringQuery(uint request, Span<byte> buffer)
    {
        buffer.Clear();
        if (BufferQuery(request, buffer) < 0)
        {
            return -1;
        }

        int nul = buffer.IndexOf((byte)0);
        return nul < 0 ? buffer.Length : nul;
    }

    private int BufferQuery(uint request, Span<byte> buffer)
    {
        try
        {
            return IoCtl.Invoke(_fd, request, buffer);
        }
        catch (SysException)
        {
            return -1;
        }
    }

    private int TryIoctl<T>(uint request, ref T value)
        where T : unmanaged
    {
        try
        {
            return IoCtl.Invoke(_fd, request, ref value);
        }
        catch (SysException)
        {
            return -1;
        }
    }
}

/// <summary>The production <see cref="IEvdevOpener"/>: <see cref="EvdevDevice.TryOpen"/> on a fixed path.</summary>
/// <param name="path">The node, for example <c>/dev/input/event3</c>.</param>
/// <param name="grab">Whether to take the exclusive grab (<c>EVIOCGRAB</c>).</param>
public sealed class EvdevOpener(string path, bool grab) : IEvdevOpener
{
    /// <inheritdoc />
    public string Path { get; } = path;

    /// <summary>Whether the node is grabbed on open.</summary>
    public bool Grab { get; } = grab;

    /// <inheritdoc />
    public bool TryOpen([NotNullWhen(true)] out IEvdevDevice? device, out int errno)
    {
        bool ok = EvdevDevice.TryOpen(Path, Grab, out EvdevDevice? d, out errno, out _);
        device = d;
        return ok;
    }
}
