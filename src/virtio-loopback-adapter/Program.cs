// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
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
    Console.WriteLine("Creates a virtio device in this kernel through /dev/virtio-loopback and serves it with the vhost-user back end at PATH.");
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

using ILoggerFactory loggerFactory = LoggerFactory.Create(builder =>
{
    builder.SetMinimumLevel(options.LogLevel);
    builder.AddSystemdConsole(o =>
    {
        o.IncludeScopes = false;
        o.TimestampFormat = null;
    });
    builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
});

using (control)
using (EventFd wake = EventFd.Create())
{
    int stopping = 0;
    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Volatile.Write(ref stopping, 1);
        wake.Signal();
    }

    using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

    ILogger frontendLogger = loggerFactory.CreateLogger("VirtioLoopback.VhostUser.Frontend");
    TimeSpan attempt = TimeSpan.FromMilliseconds(200);
    using var device = new LoopbackDevice(
        control,
        options.DeviceOptions,
        () => FrontendLink.Connect(options.SocketPath, attempt, frontendLogger),
        () => wake.Signal(),
        loggerFactory.CreateLogger("VirtioLoopback.Loopback"));

    // Wait for the back end's socket (it may start after us), then create the kernel device.
    while (true)
    {
        if (Volatile.Read(ref stopping) != 0)
        {
            return 0;
        }

        try
        {
            device.Create();
            break;
        }
        catch (TimeoutException)
        {
            // The socket is not there yet: keep waiting.
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"{ProgramName}: cannot create the device: {e.Message}");
            return 1;
        }
    }

    using Epoll epoll = Epoll.Create();
    const ulong ControlToken = 1;
    const ulong WakeToken = 2;
    epoll.Add(control.Handle, EpollEvents.In, ControlToken);
    epoll.Add(wake.Handle, EpollEvents.In, WakeToken);
    Span<EpollEvent> ready = stackalloc EpollEvent[4];
    var events = new LoopbackEvent[16];
    bool lost = false;
    int backoffMs = 100;
    long nextAttempt = 0;
    while (Volatile.Read(ref stopping) == 0)
    {
        int timeout = lost ? (int)Math.Clamp(nextAttempt - Environment.TickCount64, 0, 5000) : 250;
        int n = epoll.Wait(ready, timeout);
        for (int i = 0; i < n; i++)
        {
            if (ready[i].Token == WakeToken)
            {
                wake.TryRead(out _);
                device.ProcessPendingWork();
                continue;
            }

            int count;
            while ((count = control.ReadEvents(events)) > 0)
            {
                for (int k = 0; k < count; k++)
                {
                    if (events[k].Handle == device.Handle)
                    {
                        device.HandleEvent(events[k]);
                    }
                }
            }
        }

        if (!lost && !device.IsBackendConnected)
        {
            device.OnBackendLost();
            lost = true;
            backoffMs = 100;
            nextAttempt = Environment.TickCount64 + backoffMs;
        }
        else if (lost && Environment.TickCount64 >= nextAttempt)
        {
            if (device.TryReconnect())
            {
                lost = false;
            }
            else
            {
                backoffMs = Math.Min(backoffMs * 2, 5000);
                nextAttempt = Environment.TickCount64 + backoffMs;
            }
        }
    }

    try
    {
        device.Destroy();
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"{ProgramName}: DESTROY_DEVICE failed: {e.Message}");
    }

    return 0;
}
