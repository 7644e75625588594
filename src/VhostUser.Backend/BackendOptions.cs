// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// How a back-end program runs: where it meets its front end, how much it logs, and the values of
/// the program's own options. Produced by <see cref="BackendCommandLine"/>; tests build it directly.
/// </summary>
public sealed class BackendOptions
{
    private readonly Dictionary<string, string?> _programOptions;

    /// <summary>Creates options with no program-specific values.</summary>
    public BackendOptions()
        : this(new Dictionary<string, string?>(StringComparer.Ordinal))
    {
    }

    internal BackendOptions(Dictionary<string, string?> programOptions)
    {
        _programOptions = programOptions;
    }

    /// <summary>
    /// The unix socket path the back end listens on (<c>--socket-path</c>). The socket is created at
    /// start, kept across front-end disconnects and unlinked at shutdown. Null when <see cref="Fd"/> is used.
    /// </summary>
    public string? SocketPath { get; init; }

    /// <summary>
    /// An already connected socket inherited from the parent (<c>--fd</c>); served once. -1 when unset.
    /// </summary>
    public int Fd { get; init; } = -1;

    /// <summary>The minimum level logged (<c>--log-level</c>).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>
    /// The logger factory to use. When null, <see cref="BackendServer.Run"/> creates the
    /// journal-friendly stderr logger at <see cref="LogLevel"/> and disposes it on return.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Whether the program's own option <paramref name="name"/> (for example <c>--read-only</c>) was given.</summary>
    public bool IsSet(string name) => _programOptions.ContainsKey(name);

    /// <summary>The value of the program's own option <paramref name="name"/>, or null when it was not given.</summary>
    public string? GetValue(string name) => _programOptions.TryGetValue(name, out string? value) ? value : null;
}
