// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Hosting;

/// <summary>
/// What a back-end program's command line says: where and how to serve (<see cref="Backend"/>), how
/// much to log, and the values of the program's own options. Produced by <see cref="BackendCommandLine"/>.
/// </summary>
public sealed class ProgramOptions
{
    private readonly Dictionary<string, string?> _programOptions;

    /// <summary>Creates the options; tests build them directly.</summary>
    public ProgramOptions(BackendOptions backend, LogLevel logLevel = LogLevel.Information, IReadOnlyDictionary<string, string?>? programOptions = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        Backend = backend;
        LogLevel = logLevel;
        _programOptions = programOptions is null
            ? new Dictionary<string, string?>(StringComparer.Ordinal)
            : new Dictionary<string, string?>(programOptions, StringComparer.Ordinal);
    }

    /// <summary>Where to meet the front end and how many threads serve the queues.</summary>
    public BackendOptions Backend { get; }

    /// <summary>The minimum level logged (<c>--log-level</c>).</summary>
    public LogLevel LogLevel { get; }

    /// <summary>Whether the program's own option <paramref name="name"/> (for example <c>--read-only</c>) was given.</summary>
    public bool IsSet(string name) => _programOptions.ContainsKey(name);

    /// <summary>The value of the program's own option <paramref name="name"/>, or null when it was not given.</summary>
    public string? GetValue(string name) => _programOptions.TryGetValue(name, out string? value) ? value : null;
}
