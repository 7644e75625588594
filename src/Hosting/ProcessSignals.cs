// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Hosting;

/// <summary>
/// The signals every program of this project handles: SIGTERM and SIGINT stop it, SIGHUP runs the
/// program's own action (blk re-reads its image size) or is only logged, SIGUSR1 logs one line of
/// process statistics. Nothing takes the default action, which would end the process at once (for
/// SIGHUP and SIGUSR1 too).
/// </summary>
/// <remarks>
/// The handlers stay installed until the process exits: after <see cref="Dispose"/> they only
/// swallow the signals. Uninstalling them would bring the default action back while the program
/// is still on its way out, and a SIGHUP then would turn a clean exit into a kill. SIGHUP and
/// SIGUSR1 are installed before SIGTERM, so once a process catches SIGTERM it catches all four.
/// </remarks>
public sealed class ProcessSignals : IDisposable
{
    /// <summary>SIGUSR1 (a raw signal number: <see cref="PosixSignal"/> has no name for it).</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    /// <summary>SIGHUP and SIGTERM as raw numbers, for <see cref="SignalDisposition"/>.</summary>
    private const int SigHupNumber = 1, SigTermNumber = 15;

    // Kept for the life of the process (see the remarks).
    private static readonly List<PosixSignalRegistration> s_registrations = new();

    private readonly Action _onStop;
    private readonly Action? _onHangUp;
    private readonly ILogger _logger;
    private volatile bool _disposed;

    /// <summary>Installs the handlers; they run on the runtime's signal thread.</summary>
    /// <param name="onStop">SIGTERM or SIGINT arrived (called for each one).</param>
    /// <param name="onHangUp">The program's SIGHUP action; null to only log it.</param>
    /// <param name="logger">Where SIGHUP and the statistics are logged.</param>
    public ProcessSignals(Action onStop, Action? onHangUp, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(onStop);
        ArgumentNullException.ThrowIfNull(logger);
        _onStop = onStop;
        _onHangUp = onHangUp;
        _logger = logger;
        lock (s_registrations)
        {
            // Inherited as ignored (nohup ignores SIGHUP), they would stay ignored and the handlers
            // below would never run. SIGINT is left as inherited: a shell ignores it in background jobs.
            foreach (int signal in (ReadOnlySpan<int>)[SigHupNumber, (int)SigUsr1, SigTermNumber])
            {
                if (SignalDisposition.RestoreIfIgnored(signal))
                {
                    Log.SignalWasIgnored(logger, signal);
                }
            }

            s_registrations.Add(PosixSignalRegistration.Create(SigUsr1, OnSignal));
            s_registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal));
            s_registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal));
            s_registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal));
        }
    }

    /// <summary>Stops acting on signals; from now on they are swallowed until the process exits.</summary>
    public void Dispose() => _disposed = true;

    /// <summary>The process's thread count (<c>/proc/self/task</c>); -1 without /proc.</summary>
    private static int ThreadCount()
    {
        try
        {
            return System.IO.Directory.GetDirectories("/proc/self/task").Length;
        }
        catch (System.IO.IOException)
        {
            return -1;
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Never the default action: it ends the process at once, for SIGHUP and SIGUSR1 too.
        context.Cancel = true;
        if (_disposed)
        {
            return;
        }

        switch (context.Signal)
        {
            case PosixSignal.SIGTERM or PosixSignal.SIGINT:
                _onStop();
                break;
            case PosixSignal.SIGHUP when _onHangUp is not null:
                _onHangUp();
                break;
            case PosixSignal.SIGHUP:
                Log.HangUpIgnored(_logger);
                break;
            default:
                LogStatistics();
                break;
        }
    }

    /// <summary>
    /// One line of statistics, so a benchmark can check that the request path allocates nothing
    /// (the managed heap's total does not move while requests flow).
    /// </summary>
    private void LogStatistics()
    {
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        int threads = ThreadCount();
        Log.Statistics(_logger, allocated, gen0, gen1, gen2, Environment.ProcessorCount, threads);
    }
}
