// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Hosting;

/// <summary>The hosting layer's log messages (event ids 100-119).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Critical, Message = "The back end cannot run")]
    public static partial void ServerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information,
        Message = "STATS allocated_bytes={Allocated} gc0={Gen0} gc1={Gen1} gc2={Gen2} cpus={Cpus} threads={Threads}")]
    public static partial void Statistics(ILogger logger, long allocated, int gen0, int gen1, int gen2, int cpus, int threads);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "SIGHUP: nothing to reload")]
    public static partial void HangUpIgnored(ILogger logger);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning,
        Message = "Shutdown is taking more than {Milliseconds} ms (a device still waits for its I/O); exiting now")]
    public static partial void ShutdownForced(ILogger logger, int milliseconds);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information,
        Message = "Signal {Signal} was inherited as ignored; its default action is restored so that its handler runs")]
    public static partial void SignalWasIgnored(ILogger logger, int signal);
}
