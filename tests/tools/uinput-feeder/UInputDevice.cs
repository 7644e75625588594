// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tools.UInputFeeder;

/// <summary>One input event as <c>struct input_event</c> carries it (the timestamp is left to the kernel).</summary>
internal readonly record struct InputEvent(ushort Type, ushort Code, int Value)
{
    public override string ToString() => $"{Type} {Code} {Value}";
}

/// <summary>
/// A device created through <c>/dev/uinput</c> (linux/uinput.h). Request numbers are built with the
/// generic <c>_IOC</c> encoding, which x86_64 and arm64 share.
/// </summary>
internal sealed unsafe class UInputDevice : IDisposable
{
    private const uint UinputType = 'U';
    private const int NameSize = 80;             // UINPUT_MAX_NAME_SIZE
    private const int UinputSetupSize = 92;      // struct uinput_setup: input_id, name[80], u32 ff_effects_max
    private const int UinputAbsSetupSize = 28;   // struct uinput_abs_setup: u16 code (+2 pad), struct input_absinfo
    private const int UserDevAbsCount = 64;      // ABS_CNT
    private const int UserDevSize = NameSize + 8 + 4 + (4 * 4 * UserDevAbsCount); // struct uinput_user_dev

    private static readonly uint UiDevCreate = IoCtl.Io(UinputType, 1);
    private static readonly uint UiDevDestroy = IoCtl.Io(UinputType, 2);
    private static readonly uint UiDevSetup = IoCtl.Iow(UinputType, 3, UinputSetupSize);
    private static readonly uint UiAbsSetup = IoCtl.Iow(UinputType, 4, UinputAbsSetupSize);
    private static readonly uint UiSetEvBit = IoCtl.Iow(UinputType, 100, sizeof(int));
    private static readonly uint UiSetKeyBit = IoCtl.Iow(UinputType, 101, sizeof(int));
    private static readonly uint UiSetAbsBit = IoCtl.Iow(UinputType, 103, sizeof(int));
    private static readonly uint UiSetMscBit = IoCtl.Iow(UinputType, 104, sizeof(int));
    private static readonly uint UiSetLedBit = IoCtl.Iow(UinputType, 105, sizeof(int));
    private static readonly uint UiSetPropBit = IoCtl.Iow(UinputType, 110, sizeof(int));
    private static readonly uint UiGetVersion = IoCtl.Ior(UinputType, 45, sizeof(uint));
    private const int SysnameBufferSize = 64;
    private static readonly uint UiGetSysname = IoCtl.Ior(UinputType, 44, SysnameBufferSize);

    // struct input_event: struct timeval (two longs), u16 type, u16 code, s32 value.
    private static readonly int EventSize = (2 * IntPtr.Size) + 8;

    private readonly FileDescriptor _fd;
    private readonly Epoll _epoll;

    private UInputDevice(FileDescriptor fd, Epoll epoll, string sysName, string evdevPath)
    {
        _fd = fd;
        _epoll = epoll;
        SysName = sysName;
        EvdevPath = evdevPath;
    }

    /// <summary>The input device's sysfs name, for example <c>input5</c>.</summary>
    public string SysName { get; }

    /// <summary>The evdev node, for example <c>/dev/input/event3</c>.</summary>
    public string EvdevPath { get; }

    /// <summary>Creates the device described by <paramref name="profile"/> and waits for its evdev node.</summary>
    public static UInputDevice Create(string uinputPath, DeviceProfile profile, TimeSpan nodeTimeout)
    {
        FileDescriptor fd = Open(uinputPath);
        Epoll? epoll = null;
        try
        {
            epoll = Epoll.Create();
            epoll.Add(fd, EpollEvents.In, 0);

            SetBits(fd, UiSetEvBit, profile.EventTypes);
            SetBits(fd, UiSetKeyBit, profile.Keys);
            SetBits(fd, UiSetAbsBit, profile.Axes.ConvertAll(a => a.Code));
            SetBits(fd, UiSetMscBit, profile.MscCodes);
            SetBits(fd, UiSetLedBit, profile.Leds);
            SetBits(fd, UiSetPropBit, profile.Properties);

            if (Version(fd) >= 5)
            {
                Setup(fd, profile);
            }
            else
            {
                LegacySetup(fd, profile);
            }

            IoCtl.Invoke(fd, UiDevCreate, 0);
            string sysName = QuerySysName(fd, profile.Name, nodeTimeout);
            string evdev = FindEvdevNode(sysName, nodeTimeout);
            return new UInputDevice(fd, epoll, sysName, evdev);
        }
        catch
        {
            epoll?.Dispose();
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="events"/> with one <c>write(2)</c>, so the kernel injects them back to back.</summary>
    public void Write(IReadOnlyList<InputEvent> events)
    {
        byte[] buffer = new byte[events.Count * EventSize];
        for (int i = 0; i < events.Count; i++)
        {
            Span<byte> e = buffer.AsSpan(i * EventSize, EventSize);
            int at = 2 * IntPtr.Size;
            BinaryPrimitives.WriteUInt16LittleEndian(e[at..], events[i].Type);
            BinaryPrimitives.WriteUInt16LittleEndian(e[(at + 2)..], events[i].Code);
            BinaryPrimitives.WriteInt32LittleEndian(e[(at + 4)..], events[i].Value);
        }

        using FdRef r = new(_fd);
        fixed (byte* p = buffer)
        {
            long n;
            while ((n = LibC.write(r.Fd, p, buffer.Length)) < 0 && LibC.errno == LibC.EINTR)
            {
            }

            if (n < 0)
            {
                Errno.Throw("write(uinput)");
            }

            if (n != buffer.Length)
            {
                throw new IOException($"uinput took {n} of {buffer.Length} bytes");
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for events the kernel sends to the device (LED and
    /// sound writes, force-feedback requests) and returns them; empty on timeout.
    /// </summary>
    public List<InputEvent> Read(int timeoutMs) => ReadEvents(_fd, _epoll, timeoutMs, "read(uinput)");

    /// <summary>Opens an evdev node (or any event file) for <see cref="ReadEvents"/>, non-blocking.</summary>
    public static FileDescriptor OpenNode(string path) => Open(path);

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for <paramref name="fd"/> (registered in
    /// <paramref name="epoll"/>) and returns every whole <c>struct input_event</c> it has; empty on timeout.
    /// </summary>
    public static List<InputEvent> ReadEvents(FileDescriptor fd, Epoll epoll, int timeoutMs, string call)
    {
        List<InputEvent> result = [];
        Span<EpollEvent> ready = stackalloc EpollEvent[1];
        if (epoll.Wait(ready, timeoutMs) == 0)
        {
            return result;
        }

        byte[] buffer = new byte[64 * EventSize];
        using FdRef r = new(fd);
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = LibC.read(r.Fd, p, buffer.Length);
                if (n < 0)
                {
                    int errno = LibC.errno;
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    if (errno == LibC.EAGAIN)
                    {
                        break;
                    }

                    Errno.Throw(call, errno);
                }

                for (int off = 0; off + EventSize <= n; off += EventSize)
                {
                    ReadOnlySpan<byte> e = buffer.AsSpan(off + (2 * IntPtr.Size), 8);
                    result.Add(new InputEvent(
                        BinaryPrimitives.ReadUInt16LittleEndian(e),
                        BinaryPrimitives.ReadUInt16LittleEndian(e[2..]),
                        BinaryPrimitives.ReadInt32LittleEndian(e[4..])));
                }

                if (n < buffer.Length)
                {
                    break;
                }
            }
        }

        return result;
    }

    /// <summary><c>UI_DEV_DESTROY</c>, then closes the uinput fd: the evdev node goes away.</summary>
    public void Dispose()
    {
        try
        {
            IoCtl.Invoke(_fd, UiDevDestroy, 0);
        }
        catch (SysException)
        {
            // Closing the fd destroys the device as well.
        }

        _epoll.Dispose();
        _fd.Dispose();
    }

    private static FileDescriptor Open(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = name)
        {
            int fd;
            while ((fd = LibC.open(p, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0)) < 0 && LibC.errno == LibC.EINTR)
            {
            }

            if (fd < 0)
            {
                throw new SysException($"open({path})", LibC.errno);
            }

            return FileDescriptor.Adopt(fd);
        }
    }

    private static void SetBits(FileDescriptor fd, uint request, List<int> codes)
    {
        foreach (int code in codes)
        {
            IoCtl.Invoke(fd, request, code);
        }
    }

    private static uint Version(FileDescriptor fd)
    {
        uint version = 0;
        try
        {
            IoCtl.Invoke(fd, UiGetVersion, ref version);
        }
        catch (SysException)
        {
            return 0;
        }

        return version;
    }

    // UI_DEV_SETUP + UI_ABS_SETUP (uinput version 5, Linux 4.5 and later).
    private static void Setup(FileDescriptor fd, DeviceProfile profile)
    {
        Span<byte> setup = stackalloc byte[UinputSetupSize];
        setup.Clear();
        WriteId(setup, profile);
        WriteName(setup[8..], profile.Name);
        IoCtl.Invoke(fd, UiDevSetup, setup);

        Span<byte> abs = stackalloc byte[UinputAbsSetupSize];
        foreach (AxisInfo axis in profile.Axes)
        {
            abs.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(abs, (ushort)axis.Code);
            BinaryPrimitives.WriteInt32LittleEndian(abs[4..], 0);          // value
            BinaryPrimitives.WriteInt32LittleEndian(abs[8..], axis.Minimum);
            BinaryPrimitives.WriteInt32LittleEndian(abs[12..], axis.Maximum);
            BinaryPrimitives.WriteInt32LittleEndian(abs[16..], axis.Fuzz);
            BinaryPrimitives.WriteInt32LittleEndian(abs[20..], axis.Flat);
            BinaryPrimitives.WriteInt32LittleEndian(abs[24..], axis.Resolution);
            IoCtl.Invoke(fd, UiAbsSetup, abs);
        }
    }

    // The pre-4.5 way: write one struct uinput_user_dev (no axis resolution).
    private static void LegacySetup(FileDescriptor fd, DeviceProfile profile)
    {
        byte[] dev = new byte[UserDevSize];
        WriteName(dev, profile.Name);
        WriteId(dev.AsSpan(NameSize), profile);
        int absMax = NameSize + 8 + 4;
        int absMin = absMax + (4 * UserDevAbsCount);
        int absFuzz = absMin + (4 * UserDevAbsCount);
        int absFlat = absFuzz + (4 * UserDevAbsCount);
        foreach (AxisInfo axis in profile.Axes)
        {
            BinaryPrimitives.WriteInt32LittleEndian(dev.AsSpan(absMax + (4 * axis.Code)), axis.Maximum);
            BinaryPrimitives.WriteInt32LittleEndian(dev.AsSpan(absMin + (4 * axis.Code)), axis.Minimum);
            BinaryPrimitives.WriteInt32LittleEndian(dev.AsSpan(absFuzz + (4 * axis.Code)), axis.Fuzz);
            BinaryPrimitives.WriteInt32LittleEndian(dev.AsSpan(absFlat + (4 * axis.Code)), axis.Flat);
        }

        using FdRef r = new(fd);
        fixed (byte* p = dev)
        {
            if (LibC.write(r.Fd, p, dev.Length) != dev.Length)
            {
                Errno.Throw("write(uinput_user_dev)");
            }
        }
    }

    private static void WriteId(Span<byte> destination, DeviceProfile profile)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, profile.BusType);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], profile.Vendor);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], profile.Product);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], profile.Version);
    }

    private static void WriteName(Span<byte> destination, string name)
    {
        int n = Encoding.UTF8.GetBytes(name, destination[..(NameSize - 1)]);
        destination[n] = 0;
    }

    private static string QuerySysName(FileDescriptor fd, string name, TimeSpan timeout)
    {
        Span<byte> buffer = stackalloc byte[SysnameBufferSize];
        buffer.Clear();
        try
        {
            IoCtl.Invoke(fd, UiGetSysname, buffer);
            int end = buffer.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
        }
        catch (SysException)
        {
            // UI_GET_SYSNAME needs Linux 3.15; otherwise look the device up by name.
            return FindByName(name, timeout);
        }
    }

    private static string FindByName(string name, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        do
        {
            foreach (string dir in Directory.GetDirectories("/sys/class/input", "input*"))
            {
                string nameFile = Path.Combine(dir, "name");
                if (File.Exists(nameFile) && File.ReadAllText(nameFile).TrimEnd('\n') == name)
                {
                    return Path.GetFileName(dir);
                }
            }

            Thread.Sleep(20);
        }
        while (DateTime.UtcNow < deadline);
        throw new IOException($"no input device named '{name}' appeared in /sys/class/input");
    }

    // The evdev handler adds an eventN child to the input device; devtmpfs makes /dev/input/eventN.
    private static string FindEvdevNode(string sysName, TimeSpan timeout)
    {
        string dir = $"/sys/class/input/{sysName}";
        DateTime deadline = DateTime.UtcNow + timeout;
        do
        {
            if (Directory.Exists(dir))
            {
                foreach (string child in Directory.GetDirectories(dir, "event*"))
                {
                    string node = $"/dev/input/{Path.GetFileName(child)}";
                    if (File.Exists(node))
                    {
                        return node;
                    }
                }
            }

            Thread.Sleep(20);
        }
        while (DateTime.UtcNow < deadline);
        throw new IOException($"{dir} got no evdev node within {timeout.TotalMilliseconds} ms (is the evdev module loaded?)");
    }
}
