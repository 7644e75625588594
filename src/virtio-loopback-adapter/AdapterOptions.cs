// SPDX-License-Identifier: MIT
using System;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Loopback;

namespace VirtioLoopback.Programs;

/// <summary>The adapter's command line.</summary>
internal sealed class AdapterOptions
{
    internal const string Usage =
        "usage: virtio-loopback-adapter --socket-path PATH --device rng|blk|input|ID [--queue-size N] [--pool-size MIB] [--log-level LEVEL]";

    internal string SocketPath { get; private set; } = string.Empty;

    internal uint DeviceId { get; private set; }

    /// <summary>The <c>--queue-size</c> given, or null for the device type's default.</summary>
    internal uint? QueueSize { get; private set; }

    internal uint PoolSizeMiB { get; private set; } = 8;

    internal LogLevel LogLevel { get; private set; } = LogLevel.Information;

    internal bool Help { get; private set; }

    internal LoopbackDeviceOptions DeviceOptions => new(DeviceId, QueueSize ?? LoopbackDeviceOptions.DefaultMaxQueueSize(DeviceId), (ulong)PoolSizeMiB << 20);

    /// <summary>Parses <paramref name="args"/>; returns null with <paramref name="error"/> set on a bad command line.</summary>
    internal static AdapterOptions? Parse(string[] args, out string? error)
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

            if (arg is not ("--socket-path" or "--device" or "--queue-size" or "--pool-size" or "--log-level"))
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

            error = arg switch
            {
                "--socket-path" => o.SetSocketPath(value),
                "--device" => o.SetDevice(value),
                "--queue-size" => o.SetQueueSize(value),
                "--pool-size" => o.SetPoolSize(value),
                _ => o.SetLogLevel(value),
            };
            if (error is not null)
            {
                return null;
            }
        }

        if (o.SocketPath.Length == 0)
        {
            error = "--socket-path is required";
            return null;
        }

        if (o.DeviceId == 0)
        {
            error = "--device is required";
            return null;
        }

        return o;
    }

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

    private string? SetPoolSize(string value)
    {
        if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) || n < 1 || n > 256)
        {
            return $"--pool-size: expected MiB from 1 to 256, not '{value}'";
        }

        PoolSizeMiB = n;
        return null;
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
}
