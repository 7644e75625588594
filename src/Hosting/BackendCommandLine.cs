// SPDX-License-Identifier: MIT
using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Hosting;

/// <summary>
/// The command line every back-end program shares, in the style of rust-vmm vhost-device and QEMU
/// contrib: <c>--socket-path PATH</c>, <c>--fd N</c>, <c>--print-capabilities</c>,
/// <c>--log-level LEVEL</c>, <c>--queue-threads N</c> and <c>-h</c>/<c>--help</c>, plus the options a
/// program registers with <see cref="AddOption"/>. No reflection, so it stays NativeAOT-clean.
/// </summary>
/// <remarks>
/// Exit codes: <see cref="ExitSuccess"/> after <c>--help</c> or <c>--print-capabilities</c>;
/// <see cref="ExitFailure"/> for any bad argument, with one line <c>&lt;program&gt;: &lt;message&gt;</c> on
/// stderr. 1 is <c>EXIT_FAILURE</c>, what QEMU's contrib back ends return; the servers return the same
/// code for runtime failures, so a supervisor sees one failure code.
/// </remarks>
public sealed class BackendCommandLine
{
    /// <summary>The exit code for success, <c>--help</c> and <c>--print-capabilities</c>.</summary>
    public const int ExitSuccess = 0;

    /// <summary>The exit code for bad arguments (and for runtime failures of the server).</summary>
    public const int ExitFailure = 1;

    private const string SocketPathOption = "--socket-path";
    private const string FdOption = "--fd";
    private const string PrintCapabilitiesOption = "--print-capabilities";
    private const string LogLevelOption = "--log-level";
    private const string QueueThreadsOption = "--queue-threads";
    private const string PollOption = "--poll-us";

    /// <summary>The most threads <c>--queue-threads</c> accepts.</summary>
    public const int MaxQueueThreads = 256;

    /// <summary>The longest poll <c>--poll-us</c> accepts, in microseconds.</summary>
    public const int MaxPollMicroseconds = 100_000;

    private readonly string _program;
    private readonly string _backendType;
    private readonly string _summary;
    private readonly int? _defaultQueueThreads;
    private readonly List<ProgramOption> _options = new();
    private readonly List<string> _capabilities = new();

    /// <summary>Creates the command line of one program.</summary>
    /// <param name="programName">The program's name, the prefix of every error line (<c>vhost-user-blk</c>).</param>
    /// <param name="backendType">
    /// The back-end type printed by <c>--print-capabilities</c>, one of QEMU's
    /// <c>VHostUserBackendType</c> names (<c>block</c>, <c>input</c>, <c>rng</c>, ...).
    /// </param>
    /// <param name="summary">One sentence for <c>--help</c>.</param>
    /// <param name="defaultQueueThreads">
    /// The program's <c>--queue-threads</c> when none is given; null for one thread per queue up to
    /// the number of CPUs.
    /// </param>
    public BackendCommandLine(string programName, string backendType, string summary, int? defaultQueueThreads = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(programName);
        ArgumentException.ThrowIfNullOrEmpty(backendType);
        ArgumentNullException.ThrowIfNull(summary);
        _program = programName;
        _backendType = backendType;
        _summary = summary;
        _defaultQueueThreads = defaultQueueThreads;
    }

    /// <summary>
    /// Registers a program option.
    /// </summary>
    /// <param name="name">The long name including dashes, for example <c>--blk-file</c>.</param>
    /// <param name="help">One line for <c>--help</c>.</param>
    /// <param name="valueName">The value's placeholder (<c>PATH</c>) when the option takes a value; null for a flag.</param>
    /// <param name="required">Whether the program cannot run without the option.</param>
    /// <param name="validator">Checks the value; returns an error message, or null when the value is fine.</param>
    /// <exception cref="ArgumentException">The name is malformed or already registered.</exception>
    public void AddOption(string name, string help, string? valueName = null, bool required = false, Func<string, string?>? validator = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(help);
        if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length < 3 || name.Contains('=', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Option names look like --name, not '{name}'.", nameof(name));
        }

        if (IsCommonOption(name) || FindOption(name) is not null)
        {
            throw new ArgumentException($"Option '{name}' is already registered.", nameof(name));
        }

        if (validator is not null && valueName is null)
        {
            throw new ArgumentException("A flag has no value to validate.", nameof(validator));
        }

        _options.Add(new ProgramOption(name, help, valueName, required, validator));
    }

    /// <summary>Adds a feature name printed by <c>--print-capabilities</c> (for example <c>read-only-config</c>).</summary>
    public void AddCapability(string feature)
    {
        ArgumentException.ThrowIfNullOrEmpty(feature);
        _capabilities.Add(feature);
    }

    /// <summary>
    /// Parses <paramref name="args"/>, writing help, capabilities and errors to the console.
    /// </summary>
    /// <returns>True with <paramref name="options"/> when the program should run; false with the exit code otherwise.</returns>
    public bool TryParse(string[] args, [NotNullWhen(true)] out ProgramOptions? options, out int exitCode) =>
        TryParse(args, Console.Out, Console.Error, out options, out exitCode);

    /// <summary>
    /// Parses <paramref name="args"/>, writing help and capabilities to <paramref name="stdout"/> and
    /// the one-line error to <paramref name="stderr"/>.
    /// </summary>
    /// <returns>True with <paramref name="options"/> when the program should run; false with the exit code otherwise.</returns>
    public bool TryParse(string[] args, TextWriter stdout, TextWriter stderr, [NotNullWhen(true)] out ProgramOptions? options, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        options = null;
        string? error = ParseArguments(args, out ParsedArguments parsed);
        if (parsed.Help)
        {
            // Help wins over every other argument, even a bad one: it is what the user asked for.
            stdout.Write(Usage);
            exitCode = ExitSuccess;
            return false;
        }

        if (error is null && parsed.PrintCapabilities)
        {
            stdout.Write(CapabilitiesJson());
            exitCode = ExitSuccess;
            return false;
        }

        error ??= CheckCombination(parsed);
        if (error is not null)
        {
            stderr.WriteLine($"{_program}: {error}");
            exitCode = ExitFailure;
            return false;
        }

        options = new ProgramOptions(
            new BackendOptions
            {
                SocketPath = parsed.SocketPath,
                Fd = parsed.Fd,
                QueueThreads = parsed.QueueThreads ?? _defaultQueueThreads,
                PollMicroseconds = parsed.PollMicroseconds,
            },
            parsed.LogLevel,
            parsed.ProgramValues);
        exitCode = ExitSuccess;
        return true;
    }

    /// <summary>The <c>--help</c> text.</summary>
    public string Usage
    {
        get
        {
            StringBuilder sb = new();
            sb.Append(CultureInfo.InvariantCulture, $"Usage: {_program} (--socket-path PATH | --fd N) [OPTIONS]\n\n{_summary}\n\nOptions:\n");
            AppendOption(sb, "--socket-path PATH", "Listen on the unix socket PATH; kept across front-end reconnects.");
            AppendOption(sb, "--fd N", "Serve the inherited socket N: a connected one once, a listening one (systemd socket activation) like --socket-path.");
            foreach (ProgramOption o in _options)
            {
                string left = o.ValueName is null ? o.Name : $"{o.Name} {o.ValueName}";
                AppendOption(sb, left, o.Required ? o.Help + " (required)" : o.Help);
            }

            AppendOption(sb, "--print-capabilities", "Print the back end's capabilities as JSON (vhost-user.json) and exit.");
            AppendOption(sb, "--log-level LEVEL", "trace, debug, info (default), warn or error.");
            string threads = _defaultQueueThreads is { } n ? n.ToString(CultureInfo.InvariantCulture) : "one per queue up to the CPU count";
            AppendOption(sb, "--queue-threads N", $"Serve the queues with at most N threads; queue i runs on thread i mod N (default: {threads}).");
            AppendOption(sb, "--poll-us N", "After a queue's activity, poll for more for up to N microseconds before sleeping: less latency, more CPU time (default: 0, sleep at once).");
            AppendOption(sb, "-h, --help", "Print this help and exit.");
            return sb.ToString();
        }
    }

    /// <summary>
    /// The <c>--print-capabilities</c> document, as QEMU's <c>docs/interop/vhost-user.json</c> defines it:
    /// <c>{"type": ..., "features": [...]}</c>, without <c>features</c> when the program declares none.
    /// </summary>
    public string CapabilitiesJson()
    {
        ArrayBufferWriter<byte> buffer = new();
        using (Utf8JsonWriter writer = new(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("type", _backendType);

            // Types without a features struct in the schema (rng) carry only "type".
            if (_capabilities.Count > 0)
            {
                writer.WriteStartArray("features");
                foreach (string feature in _capabilities)
                {
                    writer.WriteStringValue(feature);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static void AppendOption(StringBuilder sb, string left, string help) =>
        sb.Append(CultureInfo.InvariantCulture, $"  {left,-26} {help}\n");

    private static bool IsCommonOption(string name) =>
        name is SocketPathOption or FdOption or PrintCapabilitiesOption or LogLevelOption or QueueThreadsOption or PollOption or "--help";

    private static bool TryParseLogLevel(string text, out LogLevel level)
    {
        switch (text)
        {
            case "trace": level = LogLevel.Trace; return true;
            case "debug": level = LogLevel.Debug; return true;
            case "info": level = LogLevel.Information; return true;
            case "warn": level = LogLevel.Warning; return true;
            case "error": level = LogLevel.Error; return true;
            default: level = LogLevel.None; return false;
        }
    }

    private ProgramOption? FindOption(string name)
    {
        foreach (ProgramOption o in _options)
        {
            if (o.Name == name)
            {
                return o;
            }
        }

        return null;
    }

    /// <summary>Reads every argument; returns the first error, but keeps scanning for <c>--help</c>.</summary>
    private string? ParseArguments(string[] args, out ParsedArguments parsed)
    {
        parsed = new ParsedArguments();
        string? firstError = null;
        HashSet<string> seen = new(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                parsed.Help = true;
                continue;
            }

            if (firstError is not null)
            {
                continue;
            }

            string name = arg;
            string? inlineValue = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 2)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            ProgramOption? programOption = FindOption(name);
            bool takesValue = name is SocketPathOption or FdOption or LogLevelOption or QueueThreadsOption or PollOption || programOption?.ValueName is not null;
            if (!IsCommonOption(name) && programOption is null)
            {
                firstError = arg.StartsWith('-')
                    ? $"unknown option '{name}' (see --help)"
                    : $"unexpected argument '{arg}' (see --help)";
                continue;
            }

            if (!seen.Add(name))
            {
                firstError = $"option '{name}' given more than once";
                continue;
            }

            string? value = null;
            if (takesValue)
            {
                if (inlineValue is not null)
                {
                    value = inlineValue;
                }
                else if (i + 1 < args.Length)
                {
                    value = args[++i];
                }
                else
                {
                    firstError = $"option '{name}' needs a value";
                    continue;
                }
            }
            else if (inlineValue is not null)
            {
                firstError = $"option '{name}' takes no value";
                continue;
            }

            firstError = Apply(name, value, programOption, ref parsed);
        }

        return firstError;
    }

    private static string? Apply(string name, string? value, ProgramOption? programOption, ref ParsedArguments parsed)
    {
        switch (name)
        {
            case SocketPathOption:
                if (string.IsNullOrEmpty(value))
                {
                    return "--socket-path needs a non-empty path";
                }

                parsed.SocketPath = value;
                return null;
            case FdOption:
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fd) || fd < 0)
                {
                    return $"--fd needs a file descriptor number, not '{value}'";
                }

                parsed.Fd = fd;
                return null;
            case LogLevelOption:
                if (!TryParseLogLevel(value!, out LogLevel level))
                {
                    return $"--log-level must be trace, debug, info, warn or error, not '{value}'";
                }

                parsed.LogLevel = level;
                return null;
            case QueueThreadsOption:
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int threads) || threads < 1 || threads > MaxQueueThreads)
                {
                    return $"--queue-threads needs a number from 1 to {MaxQueueThreads}, not '{value}'";
                }

                parsed.QueueThreads = threads;
                return null;
            case PollOption:
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int poll) || poll > MaxPollMicroseconds)
                {
                    return $"--poll-us needs a number of microseconds from 0 to {MaxPollMicroseconds}, not '{value}'";
                }

                parsed.PollMicroseconds = poll;
                return null;
            case PrintCapabilitiesOption:
                parsed.PrintCapabilities = true;
                return null;
            default:
                string? error = value is not null ? programOption!.Validator?.Invoke(value) : null;
                if (error is not null)
                {
                    return $"{name}: {error}";
                }

                parsed.ProgramValues[name] = value;
                return null;
        }
    }

    private string? CheckCombination(in ParsedArguments parsed)
    {
        if (parsed.SocketPath is not null && parsed.Fd >= 0)
        {
            return "--socket-path and --fd cannot be used together";
        }

        if (parsed.SocketPath is null && parsed.Fd < 0)
        {
            return "one of --socket-path or --fd is required (see --help)";
        }

        foreach (ProgramOption o in _options)
        {
            if (o.Required && !parsed.ProgramValues.ContainsKey(o.Name))
            {
                return $"option '{o.Name}' is required";
            }
        }

        return null;
    }

    private sealed record ProgramOption(string Name, string Help, string? ValueName, bool Required, Func<string, string?>? Validator);

    private struct ParsedArguments
    {
        public ParsedArguments()
        {
        }

        public bool Help { get; set; }

        public bool PrintCapabilities { get; set; }

        public string? SocketPath { get; set; }

        public int Fd { get; set; } = -1;

        public LogLevel LogLevel { get; set; } = LogLevel.Information;

        public int? QueueThreads { get; set; }

        public int PollMicroseconds { get; set; }

        public Dictionary<string, string?> ProgramValues { get; } = new(StringComparer.Ordinal);
    }
}
