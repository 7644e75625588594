// SPDX-License-Identifier: MIT
using System;
using System.Globalization;

namespace VirtioLoopback.Tools.Probe;

/// <summary>The probe's command line; <see cref="Parse"/> throws <see cref="ArgumentException"/> with a one-line message.</summary>
internal sealed class ProbeOptions
{
    private static readonly string[] CommandNames = ["features", "input-config", "input-events", "input-led", "input-relay", "rng", "blk-rw"];

    public string SocketPath { get; private set; } = "";

    public string Command { get; private set; } = "";

    public bool Help { get; private set; }

    public ushort QueueSize { get; private set; } = 64;

    public int TimeoutMs { get; private set; } = 10000;

    public int ConnectTimeoutMs { get; private set; } = 10000;

    public int Count { get; private set; } = -1;

    public int IdleMs { get; private set; }

    public int EventsMs { get; private set; } = 300;

    public string? ReadyFile { get; private set; }

    public int Code { get; private set; } = -1;

    public int Value { get; private set; } = int.MinValue;

    public int Bytes { get; private set; } = -1;

    public int Sectors { get; private set; } = -1;

    public int StartSector { get; private set; }

    public static ProbeOptions Parse(string[] args)
    {
        var o = new ProbeOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            switch (a)
            {
                case "-h" or "--help": o.Help = true; return o;
                case "--socket-path": o.SocketPath = Arg(args, ref i); break;
                case "--queue-size":
                    int size = Number(args, ref i, 1, 32768);
                    if ((size & (size - 1)) != 0)
                    {
                        throw new ArgumentException($"--queue-size must be a power of two, not {size}");
                    }

                    o.QueueSize = (ushort)size;
                    break;
                case "--timeout-ms": o.TimeoutMs = Number(args, ref i, 1, int.MaxValue); break;
                case "--connect-timeout-ms": o.ConnectTimeoutMs = Number(args, ref i, 0, int.MaxValue); break;
                case "--count": o.Count = Number(args, ref i, 0, int.MaxValue); break;
                case "--idle-ms": o.IdleMs = Number(args, ref i, 0, int.MaxValue); break;
                case "--events-ms": o.EventsMs = Number(args, ref i, 0, int.MaxValue); break;
                case "--ready-file": o.ReadyFile = Arg(args, ref i); break;
                case "--code": o.Code = Number(args, ref i, 0, ushort.MaxValue); break;
                case "--value": o.Value = Number(args, ref i, int.MinValue, int.MaxValue); break;
                case "--bytes": o.Bytes = Number(args, ref i, 1, 1 << 26); break;
                case "--sectors": o.Sectors = Number(args, ref i, 1, 1 << 16); break;
                case "--start-sector": o.StartSector = Number(args, ref i, 0, int.MaxValue); break;
                default:
                    if (a.StartsWith('-'))
                    {
                        throw new ArgumentException($"unknown option '{a}'");
                    }

                    if (o.Command.Length != 0)
                    {
                        throw new ArgumentException($"one command only ('{o.Command}' and '{a}' given)");
                    }

                    if (Array.IndexOf(CommandNames, a) < 0)
                    {
                        throw new ArgumentException($"unknown command '{a}' (one of {string.Join(", ", CommandNames)})");
                    }

                    o.Command = a;
                    break;
            }
        }

        if (o.SocketPath.Length == 0)
        {
            throw new ArgumentException("--socket-path is required");
        }

        string? missing = o.Command switch
        {
            "" => $"a command is required (one of {string.Join(", ", CommandNames)})",
            "input-events" when o.Count < 0 => "input-events needs --count N",
            "input-led" when o.Code < 0 || o.Value == int.MinValue => "input-led needs --code C --value V",
            "rng" when o.Bytes < 0 => "rng needs --bytes N",
            "blk-rw" when o.Sectors < 0 => "blk-rw needs --sectors N",
            _ => null,
        };
        return missing is null ? o : throw new ArgumentException(missing);
    }

    private static string Arg(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");

    private static int Number(string[] args, ref int i, int min, int max)
    {
        string option = args[i];
        string text = Arg(args, ref i);
        bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        bool ok = hex
            ? int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int n)
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out n);
        return ok && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{option} needs a number from {min} to {max}, not '{text}'");
    }
}
