// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Hosting;

/// <summary>
/// The signals every program of this project handles: SIGTERM and SIGINT stop it, SIGHUP runs the
/// program's own action (blk re-reads its image size) or is only logged, SIGUSR1 logs one line of
/// process statistics. Nothing takes the default action, which would end the process at once (for
/// SIGHUP and SIGUSR1 too).
/// </summary>
public sealed class ProcessSignals : IDisposable
{
    /// <summary>SIGUSR1 (a raw signal number: <see cref="PosixSignal"/> has no name for it).</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    private readonly PosixSignalRegistration[] _registrations;

    /// <summary>Installs the handlers; they run on the runtime's signal thread.</summary>
    /// <param name="onStop">SIGTERM or SIGINT arrived (called for each one).</param>
    /// <param name="onHangUp">The program's SIGHUP action; null to only log it.</param>
    /// <param name="logger">Where SIGHUP and the statistics are logged.</param>
    public ProcessSignals(Action onStop, Action? onHangUp, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(onStop);
        ArgumentNullException.ThrowIfNull(logger);
        void Stop(PosixSignalContext context)
        {
            // Not the default action (exit at once): the program stops its work and cleans up first.
            context.Cancel = true;
            onStop();
        }

        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                if (onHangUp is null)
                {
                    Log.HangUpIgnored(logger);
                    return;
                }

                onHangUp();
            }),

            // One line of statistics, so a benchmark can check that the request path allocates
            // nothing (the managed heap's total does not move while requests flow).
            PosixSignalRegistration.Create(SigUsr1, context =>
            {
                context.Cancel = true;
                if (logger.IsEnabled(LogLevel.Information))
                {
                    long allocated = GC.GetTotalAllocatedBytes(precise: true);
                    int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
                    int threads = ThreadCount();
                    Log.Statistics(logger, allocated, gen0, gen1, gen2, Environment.ProcessorCount, threads);
                }
            }),
        ];
    }

    /// <summary>Removes the handlers.</summary>
    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
    }

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
}
