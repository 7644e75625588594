// SPDX-License-Identifier: MIT
//
// htt-double: a Matrix Orbital HTT touch display (USB 1b3d:14c9) made with /dev/uhid, for tests.
//
//   htt-double [--type N] [--firmware HEX] [--sensitivity N] [--reboot-ms N] [--restart-delay-ms N]
//              [--phys S] [--name S]
//
// It answers feature reports 4 (controller type), 9 (firmware, u32 little-endian) and 7
// (sensitivity), and like the real unit it reboots after a set of report 7: it replies, waits
// --restart-delay-ms (default 100), destroys the HID device (the hidraw and evdev nodes go away),
// waits --reboot-ms (default 1000) and creates it again with the new value. It has a single-finger touch input report, so hid-generic
// gives it an evdev node too.
//
// Output, one fact per line: READY <hidraw node> <evdev node> (after every creation), GET <report>,
// SET <report> <value>, REBOOT, TOUCH <x> <y>, ERR <reason>.
// Commands on stdin, one per line: touch X Y (press and release) | quit.
// Exit status: 0 on quit, EOF or SIGTERM; 1 on failure; 2 bad arguments (one line on stderr).
using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using VirtioLoopback.Sys;
using VirtioLoopback.Tools.HttDouble;

const int ExitOk = 0;
const int ExitFailed = 1;
const int ExitUsage = 2;
const ushort Vendor = 0x1B3D;
const ushort Product = 0x14C9;

byte type = 2;
uint firmware = 0x01020304;
byte sensitivity = 0;
int rebootMs = 1000;
int replyMs = 100;
string phys = "htt-double/0";
string name = "Matrix Orbital HTT test double";
try
{
    for (int i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--type": type = (byte)Number(ref i, 0, 255); break;
            case "--firmware": firmware = uint.Parse(Value(ref i).Replace("0x", string.Empty, StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture); break;
            case "--sensitivity": sensitivity = (byte)Number(ref i, 0, 255); break;
            case "--reboot-ms": rebootMs = Number(ref i, 0, 60000); break;
            case "--restart-delay-ms": replyMs = Number(ref i, 0, 10000); break;
            case "--phys": phys = Value(ref i); break;
            case "--name": name = Value(ref i); break;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"htt-double: {e.Message}");
    return ExitUsage;
}

Console.Out.Flush();
var model = new DisplayModel(type, firmware, sensitivity);
var commands = new BlockingCollection<string>();
var stdinThread = new Thread(() =>
{
    string? line;
    while ((line = Console.In.ReadLine()) is not null)
    {
        commands.Add(line.Trim());
    }

    commands.Add("quit");
})
{ IsBackground = true };

using var stop = new CancellationTokenSource();
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    commands.Add("quit");
});

Uhid uhid;
try
{
    uhid = Uhid.OpenNode("/dev/uhid");
}
catch (SysException e)
{
    Console.Error.WriteLine($"htt-double: {e.Message}");
    return ExitFailed;
}

using (uhid)
{
    try
    {
        CreateAndAnnounce();
        stdinThread.Start();
        byte[] ev = new byte[Uhid.EventSize];
        byte[] reply = new byte[64];
        while (true)
        {
            while (uhid.TryRead(ev))
            {
                HandleEvent(ev, reply);
            }

            if (commands.TryTake(out string? command, 20))
            {
                if (command == "quit")
                {
                    break;
                }

                RunCommand(command);
            }
        }

        uhid.DestroyDevice();
        return ExitOk;
    }
    catch (Exception e) when (e is SysException or IOException or TimeoutException)
    {
        Console.WriteLine($"ERR {e.Message}");
        Console.Error.WriteLine($"htt-double: {e.Message}");
        return ExitFailed;
    }
}

void HandleEvent(byte[] ev, byte[] reply)
{
    uint evType = BitConverter.ToUInt32(ev, 0);
    uint id = BitConverter.ToUInt32(ev, 4);
    if (evType == Uhid.GetReport)
    {
        byte report = ev[8];
        int n = ev[9] == Uhid.FeatureReport ? model.Get(report, reply) : -1;
        Console.WriteLine($"GET {report}");
        uhid.ReplyGet(id, n < 0 ? (ushort)5 /* EIO */ : (ushort)0, n < 0 ? [] : reply.AsSpan(0, n));
    }
    else if (evType == Uhid.SetReport)
    {
        int size = BitConverter.ToUInt16(ev, 10);
        ReadOnlySpan<byte> data = ev.AsSpan(12, Math.Min(size, 64));
        bool reboot = ev[9] == Uhid.FeatureReport && model.Set(data, out string error);
        Console.WriteLine(reboot ? $"SET {data[0]} {data[1]}" : $"ERR set refused");
        uhid.ReplySet(id, reboot ? (ushort)0 : (ushort)5);
        if (reboot)
        {
            // The unit restarts: its nodes go away and come back with the new value. Not at once:
            // uhid fails a request still waiting for its reply (EIO) when the device is destroyed,
            // while a USB request completes before the unit resets.
            Thread.Sleep(replyMs);
            uhid.DestroyDevice();
            Console.WriteLine("REBOOT");
            Thread.Sleep(rebootMs);
            CreateAndAnnounce();
        }
    }
}

void RunCommand(string command)
{
    string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (words.Length == 3 && words[0] == "touch"
        && ushort.TryParse(words[1], out ushort x) && ushort.TryParse(words[2], out ushort y))
    {
        Span<byte> report = stackalloc byte[ReportDescriptor.TouchReportLength];
        report[0] = ReportDescriptor.TouchReport;
        report[1] = 1;
        BitConverter.TryWriteBytes(report[2..], x);
        BitConverter.TryWriteBytes(report[4..], y);
        uhid.Input(report);
        report[1] = 0;
        uhid.Input(report);
        Console.WriteLine($"TOUCH {x} {y}");
    }
    else if (words.Length > 0)
    {
        Console.WriteLine($"ERR unknown command '{command}'");
    }
}

void CreateAndAnnounce()
{
    uhid.Create(name, phys, Vendor, Product, ReportDescriptor.Bytes);
    (string hidraw, string evdev) = Nodes.WaitFor(phys, TimeSpan.FromSeconds(10), uhid.TryRead, ev => HandleEvent(ev, new byte[64]));
    Console.WriteLine($"READY {hidraw} {evdev}");
}

int Number(ref int i, int min, int max)
{
    string v = Value(ref i);
    if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
    {
        throw new ArgumentException($"{args[i - 1]}: expected {min}..{max}, not '{v}'");
    }

    return n;
}

string Value(ref int i)
{
    if (i + 1 >= args.Length)
    {
        throw new ArgumentException($"{args[i]} needs a value");
    }

    return args[++i];
}
