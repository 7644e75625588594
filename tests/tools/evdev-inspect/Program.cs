// SPDX-License-Identifier: MIT
//
// evdev-inspect: what an evdev node says about itself and what it reports, in a form
// shell tests can compare line by line (a uinput device against the virtio-input device
// that mirrors it).
//
//   evdev-inspect describe PATH
//       NAME, SERIAL, IDS, PROPS, one BITS line per event type and one ABS line per axis
//       (ranges only: current values differ legitimately).
//   evdev-inspect watch PATH COUNT [TIMEOUT_MS]
//       prints READY once the node is open, then "GOT type code value" for COUNT events
//       (SYN_REPORTs included); exit 1 when they do not all come within TIMEOUT_MS (default 30000).
//   evdev-inspect write PATH TYPE CODE VALUE
//       writes the event and a SYN_REPORT to the node (e.g. an EV_LED towards the device).
//
// Exit status: 0 success, 1 failure (the node cannot be used, timeout), 2 bad arguments.
using System;
using System.Globalization;
using System.Text;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;

try
{
    return args switch
    {
        ["describe", string path] => Describe(path),
        ["watch", string path, string count] => Watch(path, Int(count), 30000),
        ["watch", string path, string count, string timeout] => Watch(path, Int(count), Int(timeout)),
        ["write", string path, string type, string code, string value] =>
            Write(path, new InputEvent((ushort)Int(type), (ushort)Int(code), int.Parse(value, CultureInfo.InvariantCulture))),
        _ => Usage("expected describe PATH | watch PATH COUNT [TIMEOUT_MS] | write PATH TYPE CODE VALUE"),
    };
}
catch (FormatException e)
{
    return Usage(e.Message);
}
catch (SysException e)
{
    Console.Error.WriteLine($"evdev-inspect: {e.Message}");
    return 1;
}

static int Usage(string message)
{
    Console.Error.WriteLine($"evdev-inspect: {message}");
    return 2;
}

static int Int(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
    ? n
    : throw new FormatException($"'{s}' is not a non-negative number");

static int Describe(string path)
{
    using EvdevDevice device = EvdevDevice.Open(path, grab: false);
    InputDeviceInfo info = InputDeviceInfo.Read(device);
    Console.WriteLine($"NAME {Encoding.UTF8.GetString(info.Name)}");
    Console.WriteLine($"SERIAL {Encoding.UTF8.GetString(info.Serial)}");
    Console.WriteLine($"IDS {info.Ids.BusType:x4} {info.Ids.Vendor:x4} {info.Ids.Product:x4} {info.Ids.Version:x4}");
    Console.WriteLine($"PROPS {Convert.ToHexString(info.Properties)}");
    for (int type = 1; type <= InputEventCodes.EvMax; type++)
    {
        if (info.HasEventType(type))
        {
            Console.WriteLine($"BITS {type} {Convert.ToHexString(info.GetEventBits(type))}");
        }
    }

    for (int axis = 0; axis <= InputEventCodes.AbsMax; axis++)
    {
        if (info.TryGetAbsInfo(axis, out InputAbsInfo a))
        {
            Console.WriteLine($"ABS {axis} {a.Minimum} {a.Maximum} {a.Fuzz} {a.Flat} {a.Resolution}");
        }
    }

    return 0;
}

static int Watch(string path, int count, int timeoutMs)
{
    using EvdevDevice device = EvdevDevice.Open(path, grab: false);
    using Epoll epoll = Epoll.Create();
    epoll.Add(device.PollHandle, EpollEvents.In, 1);
    Console.WriteLine("READY");
    Console.Out.Flush();
    Span<EpollEvent> ready = stackalloc EpollEvent[1];
    Span<InputEvent> events = stackalloc InputEvent[64];
    long deadline = Environment.TickCount64 + timeoutMs;
    int got = 0;
    while (got < count)
    {
        long left = deadline - Environment.TickCount64;
        if (left <= 0)
        {
            Console.Error.WriteLine($"evdev-inspect: {got} of {count} events within {timeoutMs} ms");
            return 1;
        }

        if (epoll.Wait(ready, (int)left) == 0)
        {
            continue;
        }

        EvdevReadStatus status;
        while ((status = device.Read(events, out int n)) == EvdevReadStatus.Ok && n > 0)
        {
            for (int i = 0; i < n && got < count; i++, got++)
            {
                Console.WriteLine($"GOT {events[i].Type} {events[i].Code} {events[i].Value}");
            }
        }

        if (status == EvdevReadStatus.Gone)
        {
            Console.Error.WriteLine($"evdev-inspect: {path} went away after {got} events");
            return 1;
        }
    }

    return 0;
}

static int Write(string path, InputEvent e)
{
    using EvdevDevice device = EvdevDevice.Open(path, grab: false);
    int errno = device.Write(e);
    if (errno != 0)
    {
        Console.Error.WriteLine($"evdev-inspect: write to {path}: errno {errno}");
        return 1;
    }

    return 0;
}
