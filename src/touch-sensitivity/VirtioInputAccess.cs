// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Hid.Htt;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Programs.TouchSensitivity;

/// <summary>
/// Displays reached through a virtio-input device served by <c>vhost-user-input --hidraw</c> (in a
/// guest, or on a board through the loopback): an evdev node with the display's vendor and product
/// ids that advertises <c>EV_MSC</c>/<c>MSC_RAW</c>, spoken to with <see cref="VirtioInputConvention"/>.
/// </summary>
internal sealed class VirtioInputAccess(string inputDir, int answerTimeoutMs) : IDisplayAccess
{
    public const string Transport = "virtio-input";

    private const int PollMs = 10;

    public IReadOnlyList<DisplayRef> List()
    {
        var found = new List<(int Number, DisplayRef Display)>();
        if (!Directory.Exists(inputDir))
        {
            return [];
        }

        foreach (string path in Directory.EnumerateFileSystemEntries(inputDir, "event*"))
        {
            if (int.TryParse(Path.GetFileName(path).AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int number)
                && TryDescribe(path, out DisplayRef? display, out _))
            {
                found.Add((number, display));
            }
        }

        found.Sort((a, b) => a.Number.CompareTo(b.Number));
        var list = new List<DisplayRef>(found.Count);
        foreach ((_, DisplayRef d) in found)
        {
            list.Add(d);
        }

        return list;
    }

    public bool TryResolve(string? selector, [NotNullWhen(true)] out DisplayRef? display, out string error)
    {
        display = null;
        if (selector is not null && selector.Contains('/', StringComparison.Ordinal))
        {
            return TryDescribe(selector, out display, out error);
        }

        IReadOnlyList<DisplayRef> all = List();
        if (selector is null)
        {
            if (all.Count == 1)
            {
                display = all[0];
                error = string.Empty;
                return true;
            }

            error = all.Count == 0
                ? "no HTT display found (no hidraw node, and no virtio-input device of vhost-user-input --hidraw)"
                : $"{all.Count} HTT displays found; pick one with --device";
            return false;
        }

        if (!int.TryParse(selector, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= all.Count)
        {
            error = $"--device {selector}: expected a display number below {all.Count} or a /dev/input/eventN path";
            return false;
        }

        display = all[index];
        error = string.Empty;
        return true;
    }

    public SensitivityResult Get(DisplayRef display) => Request(display, VirtioInputConvention.Query, null);

    public SensitivityResult Set(DisplayRef display, SensitivityLevel level) =>
        Request(display, VirtioInputConvention.Set(level), level);

    /// <summary>Whether <paramref name="path"/> is a display's virtio-input node (ids and the MSC_RAW capability).</summary>
    private static bool TryDescribe(string path, [NotNullWhen(true)] out DisplayRef? display, out string error)
    {
        display = null;
        if (!EvdevDevice.TryOpen(path, grab: false, out EvdevDevice? device, out int errno, out string call))
        {
            error = $"{path}: {call}: {Errno.Describe(errno)}";
            return false;
        }

        using (device)
        {
            InputDeviceIds ids = device.GetIds();
            Span<byte> msc = stackalloc byte[1];
            msc.Clear();
            bool raw = device.GetEventBits(VirtioInputConvention.EventType, msc) > 0
                && (msc[0] & (1 << VirtioInputConvention.EventCode)) != 0;
            if (ids.Vendor != HttProtocol.Vendor || ids.Product != HttProtocol.Product || !raw)
            {
                error = $"{path}: not an HTT display's virtio-input device (ids {ids.Vendor:x4}:{ids.Product:x4}, MSC_RAW {(raw ? "yes" : "no")})";
                return false;
            }

            Span<byte> name = stackalloc byte[128];
            int n = device.GetName(name);
            display = new DisplayRef(path, Transport, n > 0 ? Encoding.UTF8.GetString(name[..n]) : string.Empty, null);
            error = string.Empty;
            return true;
        }
    }

    private SensitivityResult Request(DisplayRef display, int value, SensitivityLevel? level)
    {
        if (!EvdevDevice.TryOpen(display.Path, grab: false, out EvdevDevice? device, out int errno, out string call))
        {
            return Failed(display, SensitivityStatus.IoError, $"{display.Path}: {call}: {Errno.Describe(errno)}");
        }

        using (device)
        {
            if (!device.IsWritable)
            {
                return Failed(display, SensitivityStatus.IoError, $"{display.Path}: not writable (permission denied)");
            }

            Span<InputEvent> events = new InputEvent[64];
            while (device.Read(events, out int drained) == EvdevReadStatus.Ok && drained > 0)
            {
            }

            long start = Environment.TickCount64;
            int werr = device.Write(new InputEvent(VirtioInputConvention.EventType, VirtioInputConvention.EventCode, value));
            if (werr != 0)
            {
                return Failed(display, SensitivityStatus.IoError, $"{display.Path}: write: {Errno.Describe(werr)}");
            }

            var reader = new VirtioAnswerReader();
            while (Environment.TickCount64 - start < answerTimeoutMs)
            {
                EvdevReadStatus status = device.Read(events, out int n);
                for (int i = 0; i < n; i++)
                {
                    InputEvent e = events[i];
                    if (e.Type == VirtioInputConvention.EventType && e.Code == VirtioInputConvention.EventCode
                        && reader.Add(e.Value, out SensitivityStatus answer, out HttState? state))
                    {
                        return Answer(display, answer, state, level, Environment.TickCount64 - start);
                    }
                }

                if (status == EvdevReadStatus.Gone)
                {
                    return Failed(display, SensitivityStatus.IoError, $"{display.Path}: the device went away");
                }

                if (n == 0)
                {
                    Thread.Sleep(PollMs);
                }
            }

            return Failed(display, SensitivityStatus.Timeout, $"{display.Path}: no answer from the back end within {answerTimeoutMs} ms");
        }
    }

    private static SensitivityResult Answer(DisplayRef display, SensitivityStatus status, HttState? state, SensitivityLevel? level, long elapsedMs)
    {
        string controller = state is { } s ? HttProtocol.Name(s.Controller) : "?";
        string wanted = level is { } l ? HttProtocol.Name(l) : "?";
        string message = status switch
        {
            SensitivityStatus.Ok when level is not null => $"set to {wanted} and verified after the restart (by the host)",
            SensitivityStatus.Ok => "ok",
            SensitivityStatus.Unchanged => $"already {wanted}",
            SensitivityStatus.UnsupportedController => $"{display.Path}: the {controller} touch controller has no sensitivity setting (only MXTxx and GT9xx have)",
            SensitivityStatus.UnsupportedLevel => $"{display.Path}: the {controller} touch controller does not support '{wanted}' (supported: {(state is { } st ? HttProtocol.SupportedNames(st.Controller) : "?")})",
            SensitivityStatus.Timeout => $"{display.Path}: the display did not come back with the new value in time (reported by the host)",
            SensitivityStatus.Mismatch => $"{display.Path}: the display came back with another value (reported by the host)",
            SensitivityStatus.NotFound => $"{display.Path}: the host has no display behind this device",
            SensitivityStatus.Busy => $"{display.Path}: another change is in progress",
            SensitivityStatus.BadRequest => $"{display.Path}: the host refused the request",
            _ => $"{display.Path}: the host could not reach the display",
        };
        // Only the host knows whether the display restarted.
        return new SensitivityResult(status, state, null, message, false, level is not null ? elapsedMs : 0);
    }

    private static SensitivityResult Failed(DisplayRef display, SensitivityStatus status, string message) =>
        new(status, null, null, message);
}
