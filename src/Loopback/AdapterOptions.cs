// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.Extensions.Logging;
namespace VirtioLoopback.Loopback;

/// <summary>
/// The adapter's command line: one or more devices, each a <c>--socket-path</c> and a
/// <c>--device</c> with its own sizes. A <c>--socket-path</c> or <c>--device</c> that the current
/// device already has starts the next device; sizes belong to the device being described.
/// </summary>
public sealed class AdapterOptions
{
    /// <summary>The usage text printed by <c>--help</c>.</summary>
    public const string Usage =
        "usage: virtio-loopback-adapter --socket-path PATH --device rng|blk|input|ID [--queue-size N] [--num-queues N] [--pool-size MIB]\n"
        + "                               [--socket-path PATH --device TYPE [...]]... [--log-level LEVEL]\n"
        + "\n"
        + "  --socket-path PATH   the vhost-user back end's UNIX socket (waited for if absent)\n"
        + "  --device TYPE        rng, blk, input or a virtio device ID from 1 to 255\n"
        + "  --queue-size N       largest ring the driver is offered (power of two; blk default 128, else 256);\n"
        + "                       lowered to what the back end accepts when it has REPLY_ACK\n"
        + "  --num-queues N       queue count when the back end has no MQ (default: the type's)\n"
        + "  --pool-size MIB      shared memory pool for rings and buffers (default 8, 1 to 256)\n"
        + "  --log-level LEVEL    trace, debug, info, warning, error, critical or none (default info)\n"
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

            if (arg is not ("--socket-path" or "--device" or "--queue-size" or "--num-queues" or "--pool-size" or "--log-level"))
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

            if (spec.DeviceId == 0)
            {
                error = $"--device is required{which}";
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
            || (option == "--device" && last.DeviceId != 0);
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
        /// <summary>The back end's socket.</summary>
        public string SocketPath { get; private set; } = string.Empty;

        /// <summary>The virtio device ID.</summary>
        public uint DeviceId { get; private set; }

        /// <summary>The <c>--queue-size</c> given, or null for the device type's default.</summary>
        public uint? QueueSize { get; private set; }

        /// <summary>The <c>--num-queues</c> given, or null for the back end's (MQ) or the type's count.</summary>
        public uint? QueueCount { get; private set; }

        /// <summary>The <c>--pool-size</c> given, or null for the default 8 MiB.</summary>
        public uint? PoolSizeMiB { get; private set; }

        /// <summary>The options the device is created with.</summary>
        public LoopbackDeviceOptions DeviceOptions =>
            new(DeviceId, QueueSize ?? LoopbackDeviceOptions.DefaultMaxQueueSize(DeviceId), (ulong)(PoolSizeMiB ?? 8) << 20)
            {
                QueueCount = QueueCount,
            };

        internal string? Set(string option, string value) => option switch
        {
            "--socket-path" => SetSocketPath(value),
            "--device" => SetDevice(value),
            "--queue-size" => QueueSize is null ? SetQueueSize(value) : Twice(option),
            "--num-queues" => QueueCount is null ? SetQueueCount(value) : Twice(option),
            _ => PoolSizeMiB is null ? SetPoolSize(value) : Twice(option),
        };

        private static string Twice(string option) => $"{option} is given twice for one device";

        private string? SetSocketPath(string value)
        {
            SocketPath = value;
            return null;
        }

        private string? SetDevice(string value)
        {
            DeviceId = value switch
            {
                "rng" => LoopbackDeviceOptions.RngId,
                "blk" => LoopbackDeviceOptions.BlockId,
                "input" => LoopbackDeviceOptions.InputId,
                _ => uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id is > 0 and < 256 ? id : 0,
            };
            return DeviceId == 0 ? $"--device: expected rng, blk, input or a virtio device ID from 1 to 255, not '{value}'" : null;
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

        private string? SetQueueCount(string value)
        {
            if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) || n < 1 || n > 64)
            {
                return $"--num-queues: expected 1 to 64, not '{value}'";
            }

            QueueCount = n;
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
