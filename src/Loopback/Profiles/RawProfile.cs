// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// Any other device ID: the config space is the bytes of <c>--config HEX</c> or
/// <c>--config-file F</c> (the front end's), or <c>--config-size N</c> bytes from the back end, or
/// none. Queues: <c>--num-queues</c>, else the back end's (<c>MQ</c>), else one. Features pass
/// through (the module still filters transport bits).
/// </summary>
public sealed class RawProfile : DeviceProfile
{
    /// <summary>The largest config space (<c>VIRTIO_LOOPBACK_CONFIG_MAX</c>).</summary>
    public const int MaxSize = LoopbackUapi.ConfigMax;

    private byte[]? _config;
    private int _backendSize;
    private uint? _queues;

    /// <summary>A generic profile for <paramref name="deviceId"/>.</summary>
    public RawProfile(uint deviceId)
    {
        DeviceId = deviceId;
    }

    /// <inheritdoc/>
    public override string Name => "raw";

    /// <inheritdoc/>
    public override uint DeviceId { get; }

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => _backendSize > 0 ? BackendConfig.Required : BackendConfig.None;

    /// <inheritdoc/>
    public override IReadOnlyList<ProfileOption> Options { get; } =
    [
        new("--config", "HEX", "the config space's bytes in hex (the front end's)"),
        new("--config-file", "F", "the config space's bytes from a file (the front end's)"),
        new("--config-size", "N", "take N config bytes from the back end (VHOST_USER_PROTOCOL_F_CONFIG)"),
        new("--num-queues", "N", "queues (default: the back end's, with MQ; else 1)"),
    ];

    /// <summary>The config bytes given on the command line, if any.</summary>
    public ReadOnlySpan<byte> Config => _config;

    /// <inheritdoc/>
    public override string? Validate()
    {
        int sources = (_config is null ? 0 : 1) + (_backendSize > 0 ? 1 : 0);
        return sources > 1 ? "--config, --config-file and --config-size exclude each other" : null;
    }

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => _config?.Length ?? _backendSize;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures)
    {
        if (_queues is { } n)
        {
            if (backendQueues is { } max && max < n)
            {
                throw new InvalidOperationException($"--num-queues {n}: the back end has {max} queues");
            }

            return n;
        }

        return (uint)Math.Clamp(backendQueues ?? 1, 1, 64);
    }

    /// <inheritdoc/>
    public override void WriteFrontendConfig(Span<byte> config, ulong offeredFeatures, uint queueCount) => _config?.CopyTo(config);

    /// <inheritdoc/>
    protected override string? Set(string option, string value)
    {
        switch (option)
        {
            case "--num-queues":
            {
                string? error = ProfileOption.ParseUInt(option, value, 1, 64, out ulong n);
                _queues = error is null ? (uint)n : null;
                return error;
            }

            case "--config-size":
            {
                string? error = ProfileOption.ParseUInt(option, value, 1, MaxSize, out ulong n);
                _backendSize = (int)n;
                return error;
            }

            case "--config":
                return SetConfig(option, ParseHex(value), $"expected an even number of hex digits (up to {MaxSize} bytes), not '{value}'");
            default:
                return SetConfig(option, ReadFile(value, out string? why), why);
        }
    }

    private string? SetConfig(string option, byte[]? bytes, string? why)
    {
        if (bytes is null || bytes.Length == 0 || bytes.Length > MaxSize)
        {
            return bytes is null ? $"{option}: {why}" : $"{option}: {bytes.Length} bytes; a config space has 1 to {MaxSize}";
        }

        if (_config is not null)
        {
            return "--config and --config-file exclude each other";
        }

        _config = bytes;
        return null;
    }

    private static byte[]? ParseHex(string text)
    {
        string digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (digits.Length % 2 != 0)
        {
            return null;
        }

        var bytes = new byte[digits.Length / 2];
        for (int i = 0; i < bytes.Length; i++)
        {
            if (!byte.TryParse(digits.AsSpan(2 * i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return null;
            }
        }

        return bytes;
    }

    private static byte[]? ReadFile(string path, out string? why)
    {
        why = null;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxSize)
            {
                why = $"{path} has {info.Length} bytes; a config space has 1 to {MaxSize}";
                return null;
            }

            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            why = $"cannot read {path}: {e.Message}";
            return null;
        }
    }
}
