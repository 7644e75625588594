// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests.Sensitivity;

/// <summary>A clock that only moves when something sleeps.</summary>
internal sealed class FakeClock : IClock
{
    public long NowMs { get; private set; } = 1000;

    public void Sleep(int ms) => NowMs += ms;
}

/// <summary>An HTT display in memory, with the unit's reboot after a set of report 7.</summary>
internal sealed class FakeDisplay(FakeClock clock, string path, ControllerType type, uint firmware = 0x01020304)
{
    public ControllerType Type { get; set; } = type;

    public uint Firmware { get; } = firmware;

    public byte Sensitivity { get; set; }

    public string Path { get; set; } = path;

    /// <summary>The path after the next reboot (the node number may change).</summary>
    public string? PathAfterReboot { get; set; }

    public string Phys { get; set; } = "usb-0000:00:14.0-1/input0";

    public List<byte[]> Sets { get; } = new();

    /// <summary>How long a reboot takes; -1: the display never comes back; null: it does not reboot.</summary>
    public int? RebootMs { get; set; } = 700;

    /// <summary>The value it comes back with (null: what was written).</summary>
    public byte? ComesBackWith { get; set; }

    /// <summary>The set ioctl fails (as uhid's does when the device goes away before the reply).</summary>
    public int SetErrno { get; set; }

    public long DownUntil { get; private set; } = long.MinValue;

    public int Generation { get; private set; }

    public bool Present => clock.NowMs >= DownUntil;

    public HidrawNode Node => new(Path, HttProtocol.Vendor, HttProtocol.Product, "Fake HTT", Phys);

    public int Get(Span<byte> report)
    {
        switch (report[0])
        {
            case 4: report[1] = (byte)Type; return 2;
            case 7: report[1] = Sensitivity; return 2;
            case 9: BinaryPrimitives.WriteUInt32LittleEndian(report[1..], Firmware); return 5;
            default: throw new SysException("ioctl", 32);
        }
    }

    public void Set(ReadOnlySpan<byte> report)
    {
        Sets.Add(report.ToArray());
        Sensitivity = ComesBackWith ?? report[1];
        if (RebootMs is { } ms)
        {
            Generation++;
            DownUntil = ms < 0 ? long.MaxValue : clock.NowMs + ms;
            Path = PathAfterReboot ?? Path;
        }

        if (SetErrno != 0)
        {
            throw new SysException("ioctl", SetErrno);
        }
    }
}

/// <summary>The hidraw nodes of some fake displays (and any other HID devices).</summary>
internal sealed class FakeHidrawSystem : IHidrawSystem
{
    public List<FakeDisplay> Displays { get; } = new();

    public List<HidrawNode> Others { get; } = new();

    public int Opens { get; private set; }

    public IReadOnlyList<HidrawNode> Scan()
    {
        var nodes = new List<HidrawNode>(Others);
        foreach (FakeDisplay d in Displays)
        {
            if (d.Present)
            {
                nodes.Add(d.Node);
            }
        }

        nodes.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return nodes;
    }

    public bool TryDescribe(string path, [NotNullWhen(true)] out HidrawNode? node, out int errno)
    {
        foreach (HidrawNode n in Scan())
        {
            if (n.Path == path)
            {
                node = n;
                errno = 0;
                return true;
            }
        }

        node = null;
        errno = 2;
        return false;
    }

    public bool TryOpen(string path, [NotNullWhen(true)] out IHidrawDevice? device, out int errno)
    {
        Opens++;
        foreach (FakeDisplay d in Displays)
        {
            if (d.Present && d.Path == path)
            {
                device = new FakeHidrawDevice(d);
                errno = 0;
                return true;
            }
        }

        device = null;
        errno = 2;
        return false;
    }
}

/// <summary>An open node of a <see cref="FakeDisplay"/>; dead once the display rebooted.</summary>
internal sealed class FakeHidrawDevice(FakeDisplay display) : IHidrawDevice
{
    private readonly int _generation = display.Generation;

    public string Path { get; } = display.Path;

    public int GetFeature(Span<byte> report)
    {
        ThrowIfGone();
        return display.Get(report);
    }

    public void SetFeature(ReadOnlySpan<byte> report)
    {
        ThrowIfGone();
        display.Set(report);
    }

    public bool WaitGone(int timeoutMs) => display.Generation != _generation;

    public void Dispose()
    {
    }

    private void ThrowIfGone()
    {
        if (display.Generation != _generation)
        {
            throw new SysException("ioctl", 19);
        }
    }
}
