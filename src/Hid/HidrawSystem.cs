// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Hid;

/// <summary>
/// The real hidraw nodes: <c>/sys/class/hidraw/hidrawN/device/uevent</c> gives each node's
/// <c>HID_ID</c> (<c>bus:vendor:product</c>, hex), <c>HID_NAME</c> and <c>HID_PHYS</c> without opening
/// it (no permission needed); a node without sysfs is asked with <c>HIDIOCGRAWINFO</c>.
/// </summary>
public sealed class HidrawSystem(string sysClassDir = "/sys/class/hidraw", string devDir = "/dev") : IHidrawSystem
{
    /// <summary>The one shared instance over the real system.</summary>
    public static HidrawSystem Default { get; } = new();

    /// <inheritdoc />
    public IReadOnlyList<HidrawNode> Scan()
    {
        var nodes = new List<(int Number, HidrawNode Node)>();
        if (!Directory.Exists(sysClassDir))
        {
            return [];
        }

        foreach (string entry in Directory.EnumerateFileSystemEntries(sysClassDir, "hidraw*"))
        {
            string name = Path.GetFileName(entry);
            if (!int.TryParse(name.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int number))
            {
                continue;
            }

            if (TryReadUevent(Path.Combine(entry, "device", "uevent"), Path.Combine(devDir, name), out HidrawNode? node))
            {
                nodes.Add((number, node));
            }
        }

        nodes.Sort((a, b) => a.Number.CompareTo(b.Number));
        var result = new List<HidrawNode>(nodes.Count);
        foreach ((_, HidrawNode node) in nodes)
        {
            result.Add(node);
        }

        return result;
    }

    /// <inheritdoc />
    public bool TryDescribe(string path, [NotNullWhen(true)] out HidrawNode? node, out int errno)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string name = Path.GetFileName(path);
        if (name.StartsWith("hidraw", StringComparison.Ordinal)
            && TryReadUevent(Path.Combine(sysClassDir, name, "device", "uevent"), path, out node))
        {
            errno = 0;
            return true;
        }

        node = null;
        if (!HidrawDevice.TryOpen(path, out HidrawDevice? device, out errno))
        {
            return false;
        }

        using (device)
        {
            try
            {
                HidrawDevInfo info = device!.GetInfo();
                node = new HidrawNode(path, info.Vendor, info.Product, device.GetName(), string.Empty);
                return true;
            }
            catch (SysException e)
            {
                errno = e.Errno;
                return false;
            }
        }
    }

    /// <inheritdoc />
    public bool TryOpen(string path, [NotNullWhen(true)] out IHidrawDevice? device, out int errno)
    {
        bool ok = HidrawDevice.TryOpen(path, out HidrawDevice? d, out errno);
        device = d;
        return ok;
    }

    /// <summary>Parses a HID device's <c>uevent</c> file (<c>KEY=value</c> lines).</summary>
    internal static bool TryParseUevent(string text, string nodePath, [NotNullWhen(true)] out HidrawNode? node)
    {
        node = null;
        string? id = null;
        string name = string.Empty;
        string phys = string.Empty;
        foreach (string line in text.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            string value = line[(eq + 1)..].Trim();
            switch (line[..eq])
            {
                case "HID_ID": id = value; break;
                case "HID_NAME": name = value; break;
                case "HID_PHYS": phys = value; break;
            }
        }

        // HID_ID=0003:00001B3D:000014C9 (bus, vendor, product; hex).
        string[] parts = id?.Split(':') ?? [];
        if (parts.Length != 3
            || !uint.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint vendor)
            || !uint.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint product)
            || vendor > ushort.MaxValue || product > ushort.MaxValue)
        {
            return false;
        }

        node = new HidrawNode(nodePath, (ushort)vendor, (ushort)product, name, phys);
        return true;
    }

    private static bool TryReadUevent(string ueventPath, string nodePath, [NotNullWhen(true)] out HidrawNode? node)
    {
        node = null;
        string text;
        try
        {
            text = File.ReadAllText(ueventPath);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        return TryParseUevent(text, nodePath, out node);
    }
}
