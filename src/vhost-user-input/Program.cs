// SPDX-License-Identifier: MIT
using System;
using System.IO;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Sensitivity;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;
using VirtioLoopback.Sys;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-input";
const string EvdevPathOption = "--evdev-path";
const string NoGrabOption = "--no-grab";
const string HidrawOption = "--hidraw";

// Both queues on one thread: the status queue carries a few LED writes, and the event queue's
// thread owns the node anyway (--queue-threads 2 separates them).
BackendCommandLine commandLine = new(
    ProgramName,
    "input",
    """
    A vhost-user virtio input device (virtio-input) in front of one evdev node.

    Touch sensitivity (--hidraw /dev/hidrawN, a Matrix Orbital HTT display, USB 1b3d:14c9): the
    device also advertises EV_MSC/MSC_RAW. A driver (touch-sensitivity in a guest) writes
    EV_MSC MSC_RAW events to the device's /dev/input/eventX; they arrive on the status queue.
    Values are a 16-bit tag and a 16-bit payload: 0x54510000 ('TQ') reads the display's state,
    0x5453000L ('TS') sets sensitivity L (0 normal, 1 high, 2 extra) with feature report 7,
    waits for the display's restart and reads the value back. Every request is answered with
    one packet on the event queue: 0x544300TT controller type, 0x5446xxxx and 0x5447xxxx
    firmware low and high halves, 0x544C00LL level (0xFF none), 0x544500SS status (0 ok,
    1 unchanged, 2 controller has no setting, 3 level unsupported, 4 timeout, 5 mismatch,
    6 not found, 7 I/O error, 8 busy, 9 bad request), SYN_REPORT.
    """,
    defaultQueueThreads: 1);
commandLine.AddOption(EvdevPathOption, "The evdev node to serve, for example /dev/input/event3.", "PATH", required: true, validator: ExistingPath);
commandLine.AddOption(NoGrabOption, "Do not take the node's exclusive grab (EVIOCGRAB); the host keeps seeing its events.");
commandLine.AddOption(HidrawOption, "The hidraw node of the HTT display whose touch --evdev-path is: enables the touch-sensitivity convention (below).", "PATH", validator: ExistingPath);
commandLine.AddCapability("evdev-path");
commandLine.AddCapability("no-grab");

if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

if (!Environment.Is64BitProcess)
{
    // struct input_event has a 16-byte timeval only on 64-bit kernels.
    return Fail("only 64-bit systems are supported");
}

string evdevPath = options.GetValue(EvdevPathOption)!;
string? hidrawPath = options.GetValue(HidrawOption);
SensitivityBridge? bridge = null;
if (hidrawPath is not null)
{
    var service = new SensitivityService();
    if (!service.TryResolve(hidrawPath, out HidrawNode? node, out string error))
    {
        return Fail(error);
    }

    bridge = new SensitivityBridge(service, node);
}

InputDevice device;
try
{
    bool grab = !options.IsSet(NoGrabOption);
    device = bridge is null ? InputDevice.Open(evdevPath, grab) : InputDevice.Open(evdevPath, grab, bridge);
}
catch (SysException e)
{
    bridge?.Dispose();
    return Fail($"{evdevPath}: {e.Message}");
}

using (device)
{
    return BackendHost.Run(device, options);
}

static string? ExistingPath(string value) =>
    File.Exists(value) ? null : $"'{value}' does not exist";

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
