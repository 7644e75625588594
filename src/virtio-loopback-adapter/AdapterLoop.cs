// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using VirtioLoopback.Loopback;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Programs;

/// <summary>
/// The adapter's one thread: module events from the control fd, wake-ups from other threads
/// (signals, back-end config changes), back ends reporting a broken vring, and each device's
/// back-end schedule.
/// </summary>
internal static class AdapterLoop
{
    private const ulong ControlToken = 1;
    private const ulong WakeToken = 2;

    // Device i's vring error eventfd (SET_VRING_ERR) is token VringErrorTokens + i.
    private const ulong VringErrorTokens = 16;

    /// <summary>Runs until <paramref name="stopRequested"/> says so; returns the exit code.</summary>
    internal static int Run(LoopbackControl control, EventFd wake, IReadOnlyList<ServedDevice> devices, Func<bool> stopRequested, string programName)
    {
        using Epoll epoll = Epoll.Create();
        epoll.Add(control.Handle, EpollEvents.In, ControlToken);
        epoll.Add(wake.Handle, EpollEvents.In, WakeToken);
        for (int d = 0; d < devices.Count; d++)
        {
            epoll.Add(devices[d].Device.VringErrorFd, EpollEvents.In, VringErrorTokens + (ulong)d);
        }

        Span<EpollEvent> ready = stackalloc EpollEvent[4];
        var events = new LoopbackEvent[16];
        while (!stopRequested())
        {
            long now = Environment.TickCount64;
            int timeout = 250;
            foreach (ServedDevice device in devices)
            {
                try
                {
                    device.Poll(now);
                }
                catch (Exception e) when (e is IOException or InvalidOperationException)
                {
                    Console.Error.WriteLine($"{programName}: cannot create the device for {device.SocketPath}: {e.Message}");
                    return 1;
                }

                timeout = Math.Min(timeout, device.TimeoutMs(now));
            }

            int n = epoll.Wait(ready, timeout);
            for (int i = 0; i < n; i++)
            {
                if (ready[i].Token == WakeToken)
                {
                    wake.TryRead(out _);
                    foreach (ServedDevice device in devices)
                    {
                        device.Device.ProcessPendingWork();
                    }

                    continue;
                }

                if (ready[i].Token >= VringErrorTokens && ready[i].Token - VringErrorTokens < (ulong)devices.Count)
                {
                    devices[(int)(ready[i].Token - VringErrorTokens)].Device.OnVringError();
                    continue;
                }

                int count;
                while ((count = control.ReadEvents(events)) > 0)
                {
                    for (int k = 0; k < count; k++)
                    {
                        Dispatch(devices, events[k]);
                    }
                }
            }
        }

        return 0;
    }

    private static void Dispatch(IReadOnlyList<ServedDevice> devices, in LoopbackEvent e)
    {
        foreach (ServedDevice device in devices)
        {
            if (device.Device.Handle == e.Handle && e.Handle != 0)
            {
                device.Device.HandleEvent(e);
                return;
            }
        }
    }
}
