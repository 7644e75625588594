// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;

namespace VirtioLoopback.TestDriver;

/// <summary>
/// Sends <c>SIGUSR1</c>, <c>SIGHUP</c> and <c>SIGCHLD</c> in turn, every millisecond, to chosen threads
/// (<c>tgkill</c>): threads blocked in <c>poll</c>, <c>epoll_wait</c>, <c>recvmsg</c> or <c>sendmsg</c>
/// return <c>EINTR</c> (poll and epoll_wait always do, whatever <c>SA_RESTART</c> says), so every
/// system call on their path must retry it, read errno correctly, and keep its deadline.
/// </summary>
/// <remarks>
/// A storm at this process's own threads needs handlers for the signals, or the default action of
/// SIGUSR1 and SIGHUP ends the test host: <see cref="InstallHandlers"/> installs ones that do nothing.
/// </remarks>
public sealed partial class SignalStorm : IDisposable
{
    /// <summary><c>SIGHUP</c>.</summary>
    public const int SigHup = 1;

    /// <summary><c>SIGUSR1</c> (x86-64 and arm64 numbering).</summary>
    public const int SigUsr1 = 10;

    /// <summary><c>SIGCHLD</c> (x86-64 and arm64 numbering).</summary>
    public const int SigChld = 17;

    /// <summary><c>SIGTERM</c>.</summary>
    public const int SigTerm = 15;

    private static readonly int[] s_signals = [SigUsr1, SigHup, SigChld];

    private readonly Func<IReadOnlyList<(int Pid, int Tid)>> _targets;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _sent;

    private SignalStorm(Func<IReadOnlyList<(int Pid, int Tid)>> targets, int periodMilliseconds)
    {
        _targets = targets;
        PeriodMilliseconds = periodMilliseconds;
        _thread = new Thread(Run) { IsBackground = true, Name = "signal-storm" };
        _thread.Start();
    }

    /// <summary>The pause between two rounds.</summary>
    public int PeriodMilliseconds { get; }

    /// <summary>Signals delivered so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Storms every thread of process <paramref name="pid"/> (re-read each round, so new threads get it too).</summary>
    public static SignalStorm AtProcess(int pid, int periodMilliseconds = 1) =>
        new(() => Pairs(pid, ThreadsOf(pid)), periodMilliseconds);

    /// <summary>Storms the given threads of this process (<see cref="CurrentThreadId"/> on each).</summary>
    public static SignalStorm AtThreads(IReadOnlyList<int> tids, int periodMilliseconds = 1)
    {
        IReadOnlyList<(int, int)> pairs = Pairs(Environment.ProcessId, tids);
        return new(() => pairs, periodMilliseconds);
    }

    /// <summary>
    /// Storms every thread of every process named in <paramref name="names"/> (matched against
    /// <c>/proc/PID/comm</c>, which keeps 15 characters) once it catches SIGTERM: processes that
    /// come and go (an adapter started and stopped over and over) are found again every 20 rounds.
    /// A process is left alone until it has installed its handlers (SIGTERM in <c>SigCgt</c>; the
    /// programs here install SIGHUP and SIGUSR1 first): before that any program dies of the
    /// first SIGHUP, and that says nothing about it.
    /// </summary>
    public static SignalStorm AtProcessesNamed(IReadOnlyList<string> names, int periodMilliseconds = 1)
    {
        ArgumentNullException.ThrowIfNull(names);
        IReadOnlyList<(int, int)> current = [];
        int round = 0;
        return new(
            () =>
            {
                if (round++ % 20 == 0)
                {
                    current = ThreadsOfNamed(names);
                }

                return current;
            },
            periodMilliseconds);
    }

    /// <summary>The calling thread's kernel id, for <see cref="AtThreads"/>.</summary>
    public static int CurrentThreadId() => gettid();

    /// <summary>
    /// Handlers in this process for SIGUSR1 and SIGHUP that do nothing (SIGCHLD is ignored by
    /// default but handled by the runtime once a child process was started). Dispose to remove them.
    /// </summary>
    public static IDisposable InstallHandlers()
    {
        PosixSignalRegistration usr1 = PosixSignalRegistration.Create((PosixSignal)SigUsr1, c => c.Cancel = true);
        PosixSignalRegistration hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        return new Registrations(usr1, hup);
    }

    /// <summary>The thread ids of process <paramref name="pid"/>; empty once it is gone.</summary>
    public static IReadOnlyList<int> ThreadsOf(int pid)
    {
        List<int> tids = new();
        try
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (int.TryParse(Path.GetFileName(task), out int tid))
                {
                    tids.Add(tid);
                }
            }
        }
        catch (IOException)
        {
        }

        return tids;
    }

    /// <summary>Stops the storm and waits for its thread.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tgkill(int tgid, int tid, int sig);

    private static List<(int, int)> Pairs(int pid, IReadOnlyList<int> tids)
    {
        List<(int, int)> pairs = new(tids.Count);
        foreach (int tid in tids)
        {
            pairs.Add((pid, tid));
        }

        return pairs;
    }

    /// <summary>Whether process <paramref name="pid"/> has a handler for SIGTERM (<c>SigCgt</c> of its status).</summary>
    private static bool CatchesSigterm(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("SigCgt:", StringComparison.Ordinal))
                {
                    ulong caught = ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                    return (caught & (1UL << (SigTerm - 1))) != 0;
                }
            }
        }
        catch (IOException)
        {
        }

        return false;
    }

    private static List<(int, int)> ThreadsOfNamed(IReadOnlyList<string> names)
    {
        List<(int, int)> pairs = new();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string comm;
            try
            {
                comm = File.ReadAllText(Path.Combine(dir, "comm")).TrimEnd('\n');
            }
            catch (IOException)
            {
                continue;
            }

            foreach (string name in names)
            {
                // The kernel keeps 15 characters of a name: "virtio-loopback-adapter" is "virtio-loopback".
                if ((comm == name || (comm.Length == 15 && name.StartsWith(comm, StringComparison.Ordinal))) && CatchesSigterm(pid))
                {
                    pairs.AddRange(Pairs(pid, ThreadsOf(pid)));
                    break;
                }
            }
        }

        return pairs;
    }

    [LibraryImport("libc")]
    private static partial int gettid();

    private void Run()
    {
        int round = 0;
        while (!_stop)
        {
            int signal = s_signals[round++ % s_signals.Length];
            foreach ((int pid, int tid) in _targets())
            {
                if (tgkill(pid, tid, signal) == 0)
                {
                    Interlocked.Increment(ref _sent);
                }
            }

            // nanosleep: about a millisecond on Linux, without burning a core.
            Thread.Sleep(PeriodMilliseconds);
        }
    }

    private sealed class Registrations(params PosixSignalRegistration[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (PosixSignalRegistration r in registrations)
            {
                r.Dispose();
            }
        }
    }
}
