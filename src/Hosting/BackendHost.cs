// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Hosting;

/// <summary>
/// Runs a back-end program: the journal-friendly logger, the signals (<see cref="ProcessSignals"/>)
/// and a <see cref="BackendServer"/> until SIGTERM or SIGINT.
/// </summary>
/// <remarks>
/// A back end ends within a second of SIGTERM, whatever a peer or a device does: the server's waits
/// end at once (its channels are cancelled), and when stopping the rings takes too long anyway
/// (a blk request stuck in a hung NFS mount), a watchdog removes the socket file and exits.
/// </remarks>
public static class BackendHost
{
    /// <summary>How long an orderly shutdown may take before the process exits regardless.</summary>
    public static readonly TimeSpan ShutdownLimit = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// Serves <paramref name="device"/> as <paramref name="options"/> say until SIGTERM/SIGINT (or,
    /// with <c>--fd</c>, until the front end leaves).
    /// </summary>
    /// <param name="device">The device.</param>
    /// <param name="options">The parsed command line.</param>
    /// <param name="onHangUp">What SIGHUP does (blk: re-read the image size); null to only log it.</param>
    /// <param name="loggerFactory">Where to log; null for <see cref="ConsoleLogging"/> at the options' level.</param>
    /// <returns>The process exit code: 0 after a clean shutdown, <see cref="BackendCommandLine.ExitFailure"/> when the back end cannot start.</returns>
    public static int Run(IVirtioDevice device, ProgramOptions options, Action? onHangUp = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        ILoggerFactory? owned = loggerFactory is null ? ConsoleLogging.CreateFactory(options.LogLevel) : null;
        ILoggerFactory factory = loggerFactory ?? owned!;
        ILogger logger = factory.CreateLogger("VirtioLoopback.Hosting");
        Timer? watchdog = null;
        try
        {
            using BackendServer server = new(device, options.Backend, factory);
            void Stop()
            {
                server.RequestShutdown();

                // The first SIGTERM arms the watchdog; later ones find it armed.
                Timer timer = new(_ => ForceExit(logger, options.Backend.SocketPath, factory), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                if (Interlocked.CompareExchange(ref watchdog, timer, null) is null)
                {
                    timer.Change(ShutdownLimit, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    timer.Dispose();
                }
            }

            using ProcessSignals signals = new(Stop, onHangUp, logger);
            return server.Serve();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.ServerFailed(logger, e);
            return BackendCommandLine.ExitFailure;
        }
        finally
        {
            Volatile.Read(ref watchdog)?.Dispose();
            owned?.Dispose();
        }
    }

    /// <summary>The orderly shutdown did not finish in time: leave as cleanly as we still can.</summary>
    private static void ForceExit(ILogger logger, string? socketPath, ILoggerFactory factory)
    {
        Log.ShutdownForced(logger, (int)ShutdownLimit.TotalMilliseconds);
        if (socketPath is not null)
        {
            try
            {
                File.Delete(socketPath);
            }
            catch (IOException)
            {
            }
        }

        // Flushes the console logger's queue; the front end sees the connection close.
        factory.Dispose();
        Environment.Exit(0);
    }
}
