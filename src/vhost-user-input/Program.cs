// SPDX-License-Identifier: MIT
using System;
using System.IO;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;

const string ProgramName = "vhost-user-input";
const string EvdevPathOption = "--evdev-path";
const string NoGrabOption = "--no-grab";

BackendCommandLine commandLine = new(
    ProgramName,
    "input",
    "A vhost-user virtio input device (virtio-input) in front of one evdev node.");
commandLine.AddOption(EvdevPathOption, "The evdev node to serve, for example /dev/input/event3.", "PATH", required: true, validator: ExistingPath);
commandLine.AddOption(NoGrabOption, "Do not take the node's exclusive grab (EVIOCGRAB); the host keeps seeing its events.");
commandLine.AddCapability("evdev-path");
commandLine.AddCapability("no-grab");

if (!commandLine.TryParse(args, out BackendOptions? options, out int exitCode))
{
    return exitCode;
}

if (!Environment.Is64BitProcess)
{
    // struct input_event has a 16-byte timeval only on 64-bit kernels.
    return Fail("only 64-bit systems are supported");
}

string evdevPath = options.GetValue(EvdevPathOption)!;
InputDevice device;
try
{
    device = InputDevice.Open(evdevPath, grab: !options.IsSet(NoGrabOption));
}
catch (SysException e)
{
    return Fail($"{evdevPath}: {e.Message}");
}

using (device)
{
    return BackendServer.Run(device, options);
}

static string? ExistingPath(string value) =>
    File.Exists(value) ? null : $"'{value}' does not exist";

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
