// SPDX-License-Identifier: MIT
using System;
using System.Globalization;

namespace VirtioLoopback.Devices.Console;

/// <summary>What a port is to the driver: an hvc console or a named serial port (<c>/dev/vportNpM</c>).</summary>
public enum PortKind
{
    /// <summary>A console port: the driver makes it <c>/dev/hvcN</c>.</summary>
    Console,

    /// <summary>A generic port: <c>/dev/vportNpM</c>, with <c>/dev/virtio-ports/NAME</c> when named.</summary>
    Serial,
}

/// <summary>Where a port's host side goes.</summary>
public enum EndpointKind
{
    /// <summary>A unix stream socket the back end listens on; one peer at a time.</summary>
    Socket,

    /// <summary>A pseudo-terminal; its slave is the host side (optionally reached through a symlink).</summary>
    Pty,

    /// <summary>A file the driver's output is appended to; nothing is read from it.</summary>
    File,
}

/// <summary>
/// One <c>--port</c> option: <c>KIND,ENDPOINT[,name=NAME][,size=COLSxROWS]</c> with KIND <c>console</c>
/// or <c>serial</c> and ENDPOINT <c>socket=PATH</c>, <c>pty</c>, <c>pty=LINK</c> or <c>file=PATH</c>.
/// </summary>
public sealed class PortSpec
{
    /// <summary>The longest port name (the driver puts it in sysfs and udev makes a link of it).</summary>
    public const int MaxNameLength = 127;

    private PortSpec(PortKind kind, EndpointKind endpoint, string? path, string? name, ushort cols, ushort rows)
    {
        Kind = kind;
        Endpoint = endpoint;
        Path = path;
        Name = name;
        Cols = cols;
        Rows = rows;
    }

    /// <summary>Console or serial port.</summary>
    public PortKind Kind { get; }

    /// <summary>The host side's kind.</summary>
    public EndpointKind Endpoint { get; }

    /// <summary>The socket or file path, or the pty's symlink (null: no link).</summary>
    public string? Path { get; }

    /// <summary>The port name sent to the driver, or null.</summary>
    public string? Name { get; }

    /// <summary>The console's initial columns (0: unknown); a pty reports its own size instead.</summary>
    public ushort Cols { get; }

    /// <summary>The console's initial rows (0: unknown).</summary>
    public ushort Rows { get; }

    /// <summary>Parses one <c>--port</c> value.</summary>
    /// <returns>The spec, or null with <paramref name="error"/> set.</returns>
    public static PortSpec? Parse(string value, out string? error)
    {
        ArgumentNullException.ThrowIfNull(value);
        string[] parts = value.Split(',');
        PortKind kind;
        switch (parts[0])
        {
            case "console":
                kind = PortKind.Console;
                break;
            case "serial":
                kind = PortKind.Serial;
                break;
            default:
                error = $"expected console or serial first, not '{parts[0]}'";
                return null;
        }

        EndpointKind? endpoint = null;
        string? path = null;
        string? name = null;
        ushort cols = 0;
        ushort rows = 0;
        for (int i = 1; i < parts.Length; i++)
        {
            string part = parts[i];
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? part : part[..eq];
            string? arg = eq < 0 ? null : part[(eq + 1)..];
            switch (key)
            {
                case "socket" or "file" or "pty":
                    if (endpoint is not null)
                    {
                        error = "give one of socket=, file= or pty";
                        return null;
                    }

                    endpoint = key switch { "socket" => EndpointKind.Socket, "file" => EndpointKind.File, _ => EndpointKind.Pty };
                    if ((arg is null && endpoint != EndpointKind.Pty) || arg is { Length: 0 })
                    {
                        error = $"{key}= needs a path";
                        return null;
                    }

                    path = arg;
                    break;
                case "name" when arg is not null && name is null:
                    if (!IsValidName(arg))
                    {
                        error = $"name must be 1 to {MaxNameLength} of A-Z a-z 0-9 . _ -, not '{arg}'";
                        return null;
                    }

                    name = arg;
                    break;
                case "size" when arg is not null && cols == 0:
                    if (!TryParseSize(arg, out cols, out rows))
                    {
                        error = $"size must be COLSxROWS (1 to 65535 each), not '{arg}'";
                        return null;
                    }

                    break;
                default:
                    error = $"unknown or repeated item '{part}'";
                    return null;
            }
        }

        if (endpoint is null)
        {
            error = "missing socket=PATH, file=PATH or pty";
            return null;
        }

        error = null;
        return new PortSpec(kind, endpoint.Value, path, name, cols, rows);
    }

    /// <inheritdoc />
    public override string ToString()
    {
        string where = Endpoint switch
        {
            EndpointKind.Socket => $"socket {Path}",
            EndpointKind.File => $"file {Path}",
            _ => Path is null ? "pty" : $"pty {Path}",
        };
        return Name is null ? $"{Kind.ToString().ToLowerInvariant()} on {where}" : $"{Kind.ToString().ToLowerInvariant()} '{Name}' on {where}";
    }

    private static bool IsValidName(string name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseSize(string value, out ushort cols, out ushort rows)
    {
        cols = 0;
        rows = 0;
        int x = value.IndexOf('x', StringComparison.Ordinal);
        return x > 0
            && ushort.TryParse(value.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out cols)
            && ushort.TryParse(value.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out rows)
            && cols > 0 && rows > 0;
    }
}
