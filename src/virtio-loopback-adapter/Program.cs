// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Hosting;
using VirtioLoopback.Loopback;
using VirtioLoopback.Programs;
using VirtioLoopback.Sys;

const string ProgramName = "virtio-loopback-adapter";

AdapterOptions? options = AdapterOptions.Parse(args, out string? error);
if (options is null)
{
    Console.Error.WriteLine($"{ProgramName}: {error} (try --help)");
    return 1;
}

if (options.Help)
{
    Console.WriteLine(AdapterOptions.Usage);
    Console.WriteLine();
    Console.WriteLine("Creates virtio devices in this kernel through /dev/virtio-loopback and serves each with the vhost-user back end at its PATH.");
    Console.WriteLine("Runs until SIGTERM or SIGINT, then destroys its devices. A lost back end is reconnected with back-off; its device waits.");
    return 0;
}

LoopbackControl control;
try
{
    control = LoopbackControl.Open();
}
catch (Exception e) when (e is IOException or NotSupportedException)
{
    Console.Error.WriteLine($"{ProgramName}: cannot use {LoopbackUapi.DevicePath}: {e.Message} (is virtio_loopback.ko loaded?)");
    return 1;
}

using ILoggerFactory loggerFactory = ConsoleLogging.CreateFactory(options.LogLevel);

using (control)
using (EventFd wake = EventFd.Create())
{
    int stopping = 0;
    void OnStop()
    {
        Volatile.Write(ref stopping, 1);
        wake.Signal();
    }

    // SIGTERM and SIGINT destroy the devices and end the adapter; SIGHUP and SIGUSR1 (statistics)
    // must not end it, whatever arrives while it waits for the module or a back end.
    using ProcessSignals signals = new(OnStop, onHangUp: null, loggerFactory.CreateLogger("VirtioLoopback.Hosting"));

    ILogger frontendLogger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Frontend");
    TimeSpan attempt = TimeSpan.FromMilliseconds(200);
    var served = new List<ServedDevice>();
    foreach (AdapterOptions.DeviceSpec spec in options.Devices)
    {
        string path = spec.SocketPath;
        ILogger logger = loggerFactory.CreateLogger($"VirtioLoopback.Loopback[{path}]");
        var device = new LoopbackDevice(
            control,
            spec.DeviceOptions,
            () => FrontendLink.Connect(path, attempt, frontendLogger),
            () => wake.Signal(),
            logger);
        served.Add(new ServedDevice(device, path, logger));
    }

    int rc = 0;
    try
    {
        rc = AdapterLoop.Run(control, wake, served, () => Volatile.Read(ref stopping) != 0, ProgramName);
    }
    finally
    {
        foreach (ServedDevice device in served)
        {
            try
            {
                device.Destroy();
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"{ProgramName}: DESTROY_DEVICE for {device.SocketPath} failed: {e.Message}");
            }
        }
    }

    return rc;
}
