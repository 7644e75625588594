// SPDX-License-Identifier: MIT
using System;
using System.Globalization;
using VirtioLoopback.Hid.Htt;

namespace VirtioLoopback.Programs.TouchSensitivity;

/// <summary>What the command line asks for.</summary>
internal enum ToolAction
{
    /// <summary>--list.</summary>
    List,

    /// <summary>--get.</summary>
    Get,

    /// <summary>--set LEVEL.</summary>
    Set,

    /// <summary>--help.</summary>
    Help,
}

/// <summary>The parsed command line; <see cref="Parse"/> throws <see cref="ArgumentException"/> with one line.</summary>
internal sealed class ToolOptions
{
    public const string Usage =
        "usage: touch-sensitivity --list | --get | --set normal|high|extra  [--device N|PATH] [--json] [--timeout SECONDS]";

    public ToolAction Action { get; private set; } = ToolAction.Help;

    public SensitivityLevel Level { get; private set; }

    public string? Device { get; private set; }

    public bool Json { get; private set; }

    public int TimeoutMs { get; private set; } = 15000;

    public static ToolOptions Parse(string[] args)
    {
        var o = new ToolOptions();
        bool actionSet = false;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            switch (a)
            {
                case "-h" or "--help":
                    o.Action = ToolAction.Help;
                    return o;
                case "--list":
                    SetAction(o, ref actionSet, ToolAction.List, a);
                    break;
                case "--get":
                    SetAction(o, ref actionSet, ToolAction.Get, a);
                    break;
                case "--set":
                    SetAction(o, ref actionSet, ToolAction.Set, a);
                    string level = Value(args, ref i, a);
                    if (!HttProtocol.TryParseLevel(level, out SensitivityLevel parsed))
                    {
                        throw new ArgumentException($"--set: expected normal, high or extra, not '{level}'");
                    }

                    o.Level = parsed;
                    break;
                case "--device":
                    o.Device = Value(args, ref i, a);
                    break;
                case "--json":
                    o.Json = true;
                    break;
                case "--timeout":
                    string t = Value(args, ref i, a);
                    if (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds is < 1 or > 600)
                    {
                        throw new ArgumentException($"--timeout: expected seconds from 1 to 600, not '{t}'");
                    }

                    o.TimeoutMs = seconds * 1000;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{a}' (try --help)");
            }
        }

        if (!actionSet)
        {
            throw new ArgumentException("one of --list, --get or --set is required (try --help)");
        }

        return o;
    }

    private static void SetAction(ToolOptions o, ref bool actionSet, ToolAction action, string name)
    {
        if (actionSet)
        {
            throw new ArgumentException($"{name}: only one of --list, --get and --set");
        }

        actionSet = true;
        o.Action = action;
    }

    private static string Value(string[] args, ref int i, string name)
    {
        if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} needs a value");
        }

        return args[++i];
    }
}
