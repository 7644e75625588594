// SPDX-License-Identifier: MIT
//
// uinput-feeder: a real evdev device for tests, made with /dev/uinput.
//
//   uinput-feeder [OPTION...] ACTION...
//
// Actions run in the order given:
//   --create                 create the device; prints "EVDEV /dev/input/eventN" and "SYSNAME inputX"
//   --emit-script            write the deterministic script (FeederScript.cs); prints "SENT type code value"
//                            for every event, then "SCRIPT_DONE <events>"
//   --emit TYPE CODE VALUE   write one event (no SYN_REPORT added); prints SENT
//   --syn                    write SYN_REPORT; prints SENT
//   --expect-led CODE VALUE  wait (--timeout-ms) until the device receives that EV_LED write; prints
//                            "LED code value"; fails on timeout
//   --hold-ms N              keep the device for N ms, printing "LED code value" for LED writes
//   --sleep-ms N             the same as --hold-ms
//   --destroy                destroy the device; prints "DESTROYED"
//   --destroy-after-ms N     --hold-ms N, then --destroy
//   --recreate-after-ms N    --destroy, wait N ms, --create (the evdev node goes away and comes back)
//   --wait-file PATH         wait (--timeout-ms) until PATH exists
//   --commands               read commands from stdin until EOF or "quit", one per line:
//                            create | destroy | script [BATCHES] | emit T C V | syn |
//                            expect-led C V [TIMEOUT_MS] | hold MS | sleep MS | recreate MS |
//                            latency EVDEV_PATH COUNT (uinput write -> read on EVDEV_PATH) | quit
//                            each answered by "OK <command>" or "ERR <command> <reason>"
// Options (anywhere):
//   --name NAME              device name (default "virtio-loopback test pad")
//   --uinput PATH            default /dev/uinput
//   --batches N              script batches (default 20 = 170 events)
//   --interval-ms N          pause after each script batch (default 20)
//   --timeout-ms N           for --expect-led and --wait-file (default 5000)
//
// Exit status: 0 success, 1 a failed action (uinput missing, timeout, an ERR in --commands),
// 2 bad arguments (one line on stderr). The device is destroyed on exit.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using VirtioLoopback.Sys;
using VirtioLoopback.Tools.UInputFeeder;

const int ExitOk = 0;
const int ExitFailed = 1;
const int ExitUsage = 2;

var profileName = DeviceProfile.DefaultName;
string uinputPath = "/dev/uinput";
int batches = 20;
int intervalMs = 20;
int timeoutMs = 5000;
List<string[]> actions = [];

try
{
    for (int i = 0; i < args.Length; i++)
    {
        string a = args[i];
        switch (a)
        {
            case "--name": profileName = Value(ref i); break;
            case "--uinput": uinputPath = Value(ref i); break;
            case "--batches": batches = Number(ref i, 1); break;
            case "--interval-ms": intervalMs = Number(ref i, 0); break;
            case "--timeout-ms": timeoutMs = Number(ref i, 0); break;
            case "--create" or "--emit-script" or "--syn" or "--destroy" or "--commands":
                actions.Add([a]);
                break;
            case "--emit":
                actions.Add([a, Value(ref i), Value(ref i), Value(ref i)]);
                break;
            case "--expect-led":
                actions.Add([a, Value(ref i), Value(ref i)]);
                break;
            case "--hold-ms" or "--sleep-ms" or "--destroy-after-ms" or "--recreate-after-ms":
                actions.Add([a, Number(ref i, 0).ToString(CultureInfo.InvariantCulture)]);
                break;
            case "--wait-file":
                actions.Add([a, Value(ref i)]);
                break;
            case "-h" or "--help":
                Console.WriteLine("usage: uinput-feeder [--name N] [--uinput P] [--batches N] [--interval-ms N] [--timeout-ms N] ACTION... (see Program.cs)");
                return ExitOk;
            default:
                throw new UsageException($"unknown argument '{a}'");
        }
    }

    if (actions.Count == 0)
    {
        throw new UsageException("no action given (try --create --hold-ms 1000)");
    }

    foreach (string[] action in actions)
    {
        if (action[0] is "--emit")
        {
            _ = ParseEvent(action[1], action[2], action[3]);
        }
        else if (action[0] is "--expect-led")
        {
            _ = ParseInt(action[1]);
            _ = ParseInt(action[2]);
        }
    }
}
catch (UsageException e)
{
    Console.Error.WriteLine($"uinput-feeder: {e.Message}");
    return ExitUsage;
}

var feeder = new Feeder(new DeviceProfile { Name = profileName }, uinputPath, batches, intervalMs);
try
{
    foreach (string[] action in actions)
    {
        switch (action[0])
        {
            case "--create": feeder.Create(); break;
            case "--emit-script": feeder.EmitScript(batches); break;
            case "--emit": feeder.Emit(ParseEvent(action[1], action[2], action[3])); break;
            case "--syn": feeder.Emit(new InputEvent(InputCodes.EvSyn, InputCodes.SynReport, 0)); break;
            case "--expect-led": feeder.ExpectLed(ParseInt(action[1]), ParseInt(action[2]), timeoutMs); break;
            case "--hold-ms" or "--sleep-ms": feeder.Hold(ParseInt(action[1])); break;
            case "--destroy": feeder.Destroy(); break;
            case "--destroy-after-ms": feeder.Hold(ParseInt(action[1])); feeder.Destroy(); break;
            case "--recreate-after-ms": feeder.Recreate(ParseInt(action[1])); break;
            case "--wait-file": WaitFile(action[1], timeoutMs); break;
            case "--commands":
                if (!RunCommands(feeder, timeoutMs))
                {
                    return ExitFailed;
                }

                break;
        }
    }

    return ExitOk;
}
catch (Exception e) when (e is FeederException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"uinput-feeder: {e.Message}");
    Console.WriteLine($"FAILED {e.Message}");
    return ExitFailed;
}
finally
{
    feeder.Dispose();
}

string Value(ref int i)
{
    if (i + 1 >= args.Length)
    {
        throw new UsageException($"{args[i]} needs a value");
    }

    return args[++i];
}

int Number(ref int i, int min)
{
    string option = args[i];
    string text = Value(ref i);
    if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min)
    {
        throw new UsageException($"{option} needs a number >= {min}, not '{text}'");
    }

    return n;
}

static int ParseInt(string text)
{
    bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
    bool ok = hex
        ? int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int n)
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out n);
    return ok ? n : throw new UsageException($"'{text}' is not a number");
}

static InputEvent ParseEvent(string type, string code, string value)
{
    int t = ParseInt(type);
    int c = ParseInt(code);
    if ((uint)t > ushort.MaxValue || (uint)c > ushort.MaxValue)
    {
        throw new UsageException($"event type and code must fit 16 bits: {type} {code}");
    }

    return new InputEvent((ushort)t, (ushort)c, ParseInt(value));
}

static void WaitFile(string path, int timeoutMs)
{
    DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
    while (!File.Exists(path) && !Directory.Exists(path))
    {
        if (DateTime.UtcNow >= deadline)
        {
            throw new FeederException($"{path} did not appear within {timeoutMs} ms");
        }

        Thread.Sleep(10);
    }
}

// The stdin command loop: every command is answered with OK or ERR; false if any ERR.
static bool RunCommands(Feeder feeder, int defaultTimeoutMs)
{
    bool allOk = true;
    string? line;
    while ((line = Console.In.ReadLine()) is not null)
    {
        string[] w = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (w.Length == 0 || w[0].StartsWith('#'))
        {
            continue;
        }

        if (w[0] is "quit" or "exit")
        {
            Console.WriteLine("OK quit");
            break;
        }

        try
        {
            switch (w[0])
            {
                case "create" when w.Length == 1: feeder.Create(); break;
                case "destroy" when w.Length == 1: feeder.Destroy(); break;
                case "script" when w.Length <= 2: feeder.EmitScript(w.Length == 2 ? ParseInt(w[1]) : feeder.DefaultBatches); break;
                case "emit" when w.Length == 4: feeder.Emit(ParseEvent(w[1], w[2], w[3])); break;
                case "syn" when w.Length == 1: feeder.Emit(new InputEvent(InputCodes.EvSyn, InputCodes.SynReport, 0)); break;
                case "expect-led" when w.Length is 3 or 4:
                    feeder.ExpectLed(ParseInt(w[1]), ParseInt(w[2]), w.Length == 4 ? ParseInt(w[3]) : defaultTimeoutMs);
                    break;
                case "hold" or "sleep" when w.Length == 2: feeder.Hold(ParseInt(w[1])); break;
                case "recreate" when w.Length == 2: feeder.Recreate(ParseInt(w[1])); break;
                case "latency" when w.Length == 3: feeder.Latency(w[1], ParseInt(w[2]), defaultTimeoutMs); break;
                default: throw new UsageException("unknown command or wrong argument count");
            }

            Console.WriteLine($"OK {w[0]}");
        }
        catch (Exception e) when (e is FeederException or UsageException or IOException)
        {
            Console.WriteLine($"ERR {w[0]} {e.Message}");
            allOk = false;
        }
    }

    return allOk;
}
