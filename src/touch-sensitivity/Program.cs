// SPDX-License-Identifier: MIT
//
// touch-sensitivity: read and set the touch sensitivity of Matrix Orbital HTT displays
// (USB 1b3d:14c9) through their HID feature reports, on /dev/hidrawN natively, or, in a guest
// (or through the loopback), through the virtio-input device of vhost-user-input --hidraw.
using System;
using System.Collections.Generic;
using VirtioLoopback.Hid.Htt;
using VirtioLoopback.Programs.TouchSensitivity;

const string Name = "touch-sensitivity";
const int ExitOk = 0;
const int ExitFailed = 1;
const int ExitUsage = 2;
const int ExitUnsupported = 3;
const int ExitTimeout = 4;

ToolOptions o;
try
{
    o = ToolOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"{Name}: {e.Message}");
    return ExitUsage;
}

if (o.Action == ToolAction.Help)
{
    Console.WriteLine(ToolOptions.Usage);
    Console.WriteLine("""

      Reads and sets the touch sensitivity of Matrix Orbital HTT displays (USB 1b3d:14c9).

        --list              every display: node, controller type, firmware, sensitivity
        --get               the state of one display
        --set LEVEL         normal, high or extra; MXTxx controllers have all three, GT9xx
                            normal and high, others none. The display restarts; the tool waits
                            for it to come back and reads the value back.
        --device N|PATH     the N-th display of --list, or its node (/dev/hidrawN, or
                            /dev/input/eventN for a virtio-input device); needed when there are several
        --json              one JSON object on stdout
        --timeout SECONDS   how long to wait for the display after a set (default 15)

      Displays are looked for on /dev/hidraw*; when there is none (a guest), on the virtio-input
      devices of vhost-user-input --hidraw (same vendor and product ids, EV_MSC/MSC_RAW; see
      the README's "Touch sensitivity" section).

      Exit status: 0 done, 1 failed, 2 bad arguments, 3 level or controller not supported,
      4 the display did not come back in time.
      """);
    return ExitOk;
}

var hidraw = new HidrawAccess(new SensitivityService { TimeoutMs = o.TimeoutMs });
// The back end waits up to its own timeout; allow for it and the trip through the guest.
var virtio = new VirtioInputAccess("/dev/input", o.TimeoutMs + 10000);
var output = new Output(o.Json, Console.Out);

IDisplayAccess access = Choose(o.Device, hidraw, virtio);
if (o.Action == ToolAction.List)
{
    var rows = new List<(DisplayRef, SensitivityResult)>();
    foreach (DisplayRef d in access.List())
    {
        rows.Add((d, access.Get(d)));
    }

    output.List(rows);
    return ExitOk;
}

if (!access.TryResolve(o.Device, out DisplayRef? display, out string error))
{
    Console.Error.WriteLine($"{Name}: {error}");
    return ExitFailed;
}

SensitivityResult result = o.Action == ToolAction.Set ? access.Set(display, o.Level) : access.Get(display);
output.Result(display, result, o.Action == ToolAction.Set);
if (result.Succeeded)
{
    return ExitOk;
}

Console.Error.WriteLine($"{Name}: {result.Message}");
return result.Status switch
{
    SensitivityStatus.UnsupportedController or SensitivityStatus.UnsupportedLevel => ExitUnsupported,
    SensitivityStatus.Timeout => ExitTimeout,
    _ => ExitFailed,
};

// A path picks its transport; otherwise hidraw when it has a display, else virtio-input.
static IDisplayAccess Choose(string? device, HidrawAccess hidraw, VirtioInputAccess virtio)
{
    if (device is not null && device.Contains('/', StringComparison.Ordinal))
    {
        return device.Contains("/input/", StringComparison.Ordinal) || device.Contains("event", StringComparison.Ordinal) ? virtio : hidraw;
    }

    return hidraw.List().Count > 0 ? hidraw : virtio;
}
