// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace VirtioLoopback.Hosting;

/// <summary>The logger every program (back ends and the adapter) uses: journal-friendly lines on stderr.</summary>
public static class ConsoleLogging
{
    /// <summary>
    /// Creates a logger factory that writes <c>&lt;N&gt;category[event] message</c> lines to stderr,
    /// where <c>&lt;N&gt;</c> is the syslog priority, so systemd-journald files each line at the right
    /// level. stdout stays clean for <c>--print-capabilities</c>. The built-in systemd formatter is
    /// used: it publishes under NativeAOT with no trim warnings.
    /// </summary>
    /// <param name="minimumLevel">The least severe level written.</param>
    /// <remarks>The console logger writes on a background thread; dispose the factory to flush it.</remarks>
    public static ILoggerFactory CreateFactory(LogLevel minimumLevel) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(minimumLevel);
            builder.AddSystemdConsole(o =>
            {
                o.IncludeScopes = false;
                o.TimestampFormat = null;
            });
            builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });
}
