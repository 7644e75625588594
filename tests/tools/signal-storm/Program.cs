// SPDX-License-Identifier: MIT
//
// signal-storm: sends SIGUSR1, SIGHUP and SIGCHLD in turn to every thread of the named processes,
// one round every --period-ms (default 1), until SIGTERM or SIGINT; then prints
// "SIGNALS n" (signals delivered) and exits 0. Processes that start later (or again) are found by
// name every 20 rounds. The test harness's SignalStorm (tests/TestDriver) does the work.
//
//   signal-storm [--period-ms N] NAME...     (NAME as in /proc/PID/comm, or the program's full name)
//
// Exit status: 0, or 2 for bad arguments.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading;
using VirtioLoopback.TestDriver;

int period = 1;
List<string> names = new();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--period-ms" && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out period) && period > 0)
    {
        i++;
    }
    else if (args[i].StartsWith('-'))
    {
        Console.Error.WriteLine($"signal-storm: bad argument '{args[i]}' (usage: signal-storm [--period-ms N] NAME...)");
        return 2;
    }
    else
    {
        names.Add(args[i]);
    }
}

if (names.Count == 0)
{
    Console.Error.WriteLine("signal-storm: name at least one process");
    return 2;
}

using ManualResetEventSlim stop = new();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Set();
}

using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
long sent;
using (SignalStorm storm = SignalStorm.AtProcessesNamed(names, period))
{
    stop.Wait();
    sent = storm.Sent;
}

Console.WriteLine($"SIGNALS {sent}");
return 0;
