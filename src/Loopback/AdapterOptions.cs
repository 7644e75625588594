// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Loopback.Profiles;
namespace VirtioLoopback.Loopback;

/// <summary>
/// The adapter's command line: one or more devices, each a <c>--socket-path</c> and a
/// <c>--device</c> with its own sizes and its type's options (<c>--tag</c>, <c>--mac</c>, ...: see
/// <see cref="DeviceProfile"/>). A <c>--socket-path</c> or <c>--device</c> that the current device
/// already has starts the next device; the other options belong to the device being described.
/// </summary>
public sealed class AdapterOptions
{
    /// <summary>The usage text printed by <c>--help</c>: the common options, then each device type with its own.</summary>
    public static string Usage { get; } =
        "usage: virtio-loopback-adapter --socket-path PATH --device TYPE [TYPE OPTIONS] [--queue-size N] [--pool-size MIB]\n"
        + "                               [--socket-path PATH --device TYPE [...]]... [--log-level LEVEL]\n"
        + "\n"
        + "  --socket-path PATH   the vhost-user back end's UNIX socket (waited for if absent)\n"
        + $"  --device TYPE        {DeviceProfiles.Names}, or a virtio device ID from 1 to 255\n"
        + "  --queue-size N       largest ring the driver is offered (power of two; default: the type's);\n"
        + "                       lowered to what the back end accepts when it has REPLY_ACK\n"
        + "  --pool-size MIB      shared memory pool for rings and buffers (default 8, 1 to 256)\n"
        + "  --log-level LEVEL    trace, debug, info, warning, error, critical or none (default info)\n"
        + "\n"
        + "Device types (an ID with a name gets that type), their default queue size and options:\n"
        + DeviceProfiles.Help() + "\n"
        + "\n"
        + "Repeat --socket-path and --device to serve several devices from one process.";

    private readonly List<DeviceSpec> _devices = [];

    /// <summary>The devices, in command-line order.</summary>
    public IReadOnlyList<DeviceSpec> Devices => _devices;

    /// <summary>The <c>--log-level</c>.</summary>
    public LogLevel LogLevel { get; private set; } = LogLevel.Information;

    /// <summary>Whether <c>--help</c> was given.</summary>
    public bool Help { get; private set; }

    /// <summary>Parses <paramref name="args"/>; returns null with <paramref name="error"/> set on a bad command line.</summary>
    public static AdapterOptions? Parse(string[] args, out string? error)
    {
        var o = new AdapterOptions();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inline = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            if (arg is "-h" or "--help")
            {
                o.Help = true;
                return o;
            }

            if (arg is not ("--socket-path" or "--device" or "--queue-size" or "--pool-size" or "--log-level") && !DeviceProfiles.IsTypeOption(arg))
            {
                error = $"unknown option '{args[i]}'";
                return null;
            }

            string? value = inline ?? (i + 1 < args.Length ? args[++i] : null);
            if (string.IsNullOrEmpty(value))
            {
                error = $"{arg} needs a value";
                return null;
            }

            error = arg == "--log-level" ? o.SetLogLevel(value) : o.Current(arg).Set(arg, value);
            if (error is not null)
            {
                return null;
            }
        }

        if (o._devices.Count == 0)
        {
            error = "--socket-path and --device are required";
            return null;
        }

        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (int d = 0; d < o._devices.Count; d++)
        {
            DeviceSpec spec = o._devices[d];
            string which = o._devices.Count > 1 ? $" for device {d + 1}" : string.Empty;
            if (spec.SocketPath.Length == 0)
            {
                error = $"--socket-path is required{which}";
                return null;
            }

            if (spec.Profile is null)
            {
                error = $"--device is required{which}";
                return null;
            }

            error = spec.ApplyTypeOptions();
            if (error is not null)
            {
                return null;
            }

            if (!paths.Add(spec.SocketPath))
            {
                error = $"--socket-path {spec.SocketPath} is given for two devices (a back end serves one)";
                return null;
            }
        }

        return o;
    }

    /// <summary>The device an option belongs to: the last one, or a new one when the last has this option already.</summary>
    private DeviceSpec Current(string option)
    {
        DeviceSpec? last = _devices.Count > 0 ? _devices[^1] : null;
        bool starts = last is null
            || (option == "--socket-path" && last.SocketPath.Length != 0)
            || (option == "--device" && last.Profile is not null);
        if (starts)
        {
            last = new DeviceSpec();
            _devices.Add(last);
        }

        return last!;
    }

    private string? SetLogLevel(string value)
    {
        LogLevel? level = value.ToUpperInvariant() switch
        {
            "TRACE" => LogLevel.Trace,
            "DEBUG" => LogLevel.Debug,
            "INFO" or "INFORMATION" => LogLevel.Information,
            "WARN" or "WARNING" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" => LogLevel.Critical,
            "NONE" => LogLevel.None,
            _ => null,
        };
        if (level is null)
        {
            return $"--log-level: expected trace, debug, info, warning, error, critical or none, not '{value}'";
        }

        LogLevel = level.Value;
        return null;
    }

    /// <summary>One device on the command line.</summary>
    public sealed class DeviceSpec
    {
        private readonly List<(string Option, string Value)> _typeOptions = [];

        /// <summary>The back end's socket.</summary>
        public string SocketPath { get; private set; } = string.Empty;

        /// <summary>The device type with its options (null until <c>--device</c>).</summary>
        public DeviceProfile? Profile { get; private set; }

        /// <summary>The virtio device ID (0 until <c>--device</c>).</summary>
        public uint DeviceId => Profile?.DeviceId ?? 0;

        /// <summary>The <c>--queue-size</c> given, or null for the device type's default.</summary>
        public uint? QueueSize { get; private set; }

        /// <summary>The <c>--pool-size</c> given, or null for the default 8 MiB.</summary>
        public uint? PoolSizeMiB { get; private set; }

        /// <summary>The options the device is created with.</summary>
        public LoopbackDeviceOptions DeviceOptions
        {
            get
            {
                DeviceProfile profile = Profile ?? throw new InvalidOperationException("No --device.");
                return new(profile, QueueSize ?? profile.DefaultQueueSize, (ulong)(PoolSizeMiB ?? 8) << 20);
            }
        }

        internal string? Set(string option, string value) => option switch
        {
            "--socket-path" => SetSocketPath(value),
            "--device" => SetDevice(value),
            "--queue-size" => QueueSize is null ? SetQueueSize(value) : Twice(option),
            "--pool-size" => PoolSizeMiB is null ? SetPoolSize(value) : Twice(option),
            _ => AddTypeOption(option, value),
        };

        /// <summary>Hands the type's options to the profile (they may come before <c>--device</c>).</summary>
        internal string? ApplyTypeOptions()
        {
            DeviceProfile profile = Profile!;
            foreach ((string option, string value) in _typeOptions)
            {
                if (!profile.Takes(option))
                {
                    return $"{option} is not an option of device {profile.Name} (it is one of {DeviceProfiles.TypesTaking(option)})";
                }

                string? error = profile.SetOption(option, value);
                if (error is not null)
                {
                    return error;
                }
            }

            return profile.Validate();
        }

        private static string Twice(string option) => $"{option} is given twice for one device";

        private string? AddTypeOption(string option, string value)
        {
            _typeOptions.Add((option, value));
            return null;
        }

        private string? SetSocketPath(string value)
        {
            SocketPath = value;
            return null;
        }

        private string? SetDevice(string value)
        {
            Profile = DeviceProfiles.Create(value);
            return Profile is null ? $"--device: expected {DeviceProfiles.Names} or a virtio device ID from 1 to 255, not '{value}'" : null;
        }

        private string? SetQueueSize(string value)
        {
            if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) || n < 2 || n > 32768 || (n & (n - 1)) != 0)
            {
                return $"--queue-size: expected a power of two from 2 to 32768, not '{value}'";
            }

            QueueSize = n;
            return null;
        }

        private string? SetPoolSize(string value)
        {
            if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) || n < 1 || n > 256)
            {
                return $"--pool-size: expected MiB from 1 to 256, not '{value}'";
            }

            PoolSizeMiB = n;
            return null;
        }
    }
}
