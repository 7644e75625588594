// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace VirtioLoopback.Tools.HttDouble;

/// <summary>Finds the hidraw and evdev nodes the kernel made for the double (by its <c>HID_PHYS</c>).</summary>
internal static class Nodes
{
    /// <summary>
    /// Waits until both nodes exist and are openable, serving uhid events meanwhile (the kernel may
    /// ask for reports while it probes the device).
    /// </summary>
    public static (string Hidraw, string Evdev) WaitFor(string phys, TimeSpan timeout, Func<byte[], bool> tryRead, Action<byte[]> handle)
    {
        byte[] ev = new byte[Uhid.EventSize];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            while (tryRead(ev))
            {
                handle(ev);
            }

            if (TryFind(phys, out string hidraw, out string evdev) && File.Exists(hidraw) && File.Exists(evdev))
            {
                return (hidraw, evdev);
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"no hidraw and evdev node with HID_PHYS={phys} within {timeout.TotalSeconds} s");
    }

    private static bool TryFind(string phys, out string hidraw, out string evdev)
    {
        hidraw = evdev = string.Empty;
        if (!Directory.Exists("/sys/class/hidraw"))
        {
            return false;
        }

        foreach (string dir in Directory.GetFileSystemEntries("/sys/class/hidraw", "hidraw*"))
        {
            string device = Path.Combine(dir, "device");
            string uevent;
            try
            {
                uevent = File.ReadAllText(Path.Combine(device, "uevent"));
            }
            catch (IOException)
            {
                continue;
            }

            if (!uevent.Contains($"HID_PHYS={phys}\n", StringComparison.Ordinal))
            {
                continue;
            }

            string inputs = Path.Combine(device, "input");
            if (!Directory.Exists(inputs))
            {
                return false;
            }

            foreach (string input in Directory.GetDirectories(inputs, "input*"))
            {
                foreach (string ev in Directory.GetDirectories(input, "event*"))
                {
                    hidraw = "/dev/" + Path.GetFileName(dir);
                    evdev = "/dev/input/" + Path.GetFileName(ev);
                    return true;
                }
            }
        }

        return false;
    }
}
