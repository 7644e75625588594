// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tools.UInputFeeder;

namespace VirtioLoopback.Tools.Probe;

/// <summary>
/// <c>input-relay</c>: a user-space stand-in for the Linux <c>virtio_input</c> driver. It reads the
/// virtio-input config space, creates a uinput device that looks the same (name, ids, properties,
/// every event bitmap, axis ranges), and then relays until SIGTERM or <c>--timeout-ms</c>: eventq
/// packets are written to the uinput device (so they appear on its evdev node), and the events the
/// kernel hands the uinput device (what readers write to the node: <c>EV_MSC</c>, <c>EV_LED</c>,
/// <c>EV_SND</c>, as <c>virtinput_status</c> would send them) go to the statusq, one per buffer.
/// </summary>
/// <remarks>
/// Prints <c>RELAY_EVDEV /dev/input/eventN</c> and READY once relaying, then <c>FORWARD t c v</c>
/// per eventq event and <c>STATUS t c v</c> per statusq event.
/// </remarks>
internal static class InputRelay
{
    private const int EventSize = 8;
    private const byte CfgIdName = 0x01;
    private const byte CfgIdDevids = 0x03;
    private const byte CfgPropBits = 0x10;
    private const byte CfgEvBits = 0x11;
    private const byte CfgAbsInfo = 0x12;
    private const ushort EvSyn = 0x00;
    private const int EvKey = 0x01;
    private const int EvAbs = 0x03;
    private const int EvMsc = 0x04;
    private const int EvLed = 0x11;
    private const int EvSnd = 0x12;
    private const int StatusBuffers = 32;

    public static void Run(ProbeSession s, ProbeOptions o, Func<byte, byte, byte[]> select)
    {
        DeviceProfile profile = Profile(select);
        using UInputDevice uinput = UInputDevice.Create("/dev/uinput", profile, TimeSpan.FromSeconds(10));
        Console.WriteLine($"RELAY_EVDEV {uinput.EvdevPath}");

        IReadOnlyList<ProbeQueue> queues = s.Start(0, o.QueueSize, 0, 1);
        ProbeQueue eventq = queues[0];
        ProbeQueue statusq = queues[1];
        var buffers = new Dictionary<ushort, ulong>();
        for (int i = 0; i < o.QueueSize; i++)
        {
            ulong gpa = s.Memory.Alloc(EventSize, 8);
            buffers[eventq.Ring.AddChain(DriverBuffer.DeviceWritable(gpa, EventSize))] = gpa;
        }

        eventq.Notify();
        var freeStatus = new Stack<ulong>();
        var busyStatus = new Dictionary<ushort, ulong>();
        for (int i = 0; i < StatusBuffers; i++)
        {
            freeStatus.Push(s.Memory.Alloc(EventSize, 8));
        }

        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });

        Console.WriteLine("READY");
        if (o.ReadyFile is not null)
        {
            System.IO.File.WriteAllText(o.ReadyFile, "ready\n");
        }

        var clock = Stopwatch.StartNew();
        var packet = new List<InputEvent>();
        Span<byte> w = stackalloc byte[EventSize];
        while (!stop.IsCancellationRequested && clock.ElapsedMilliseconds < o.TimeoutMs)
        {
            if (!s.Frontend.IsConnected)
            {
                throw new ProbeException("the back end closed the connection");
            }

            bool refilled = false;
            eventq.Ring.EnableInterrupts();
            while (eventq.Ring.TryGetUsed(out ushort id, out _))
            {
                if (!buffers.Remove(id, out ulong gpa))
                {
                    throw new ProbeException($"eventq returned unknown id {id}");
                }

                ReadOnlySpan<byte> e = s.Memory.GetSpan(gpa, EventSize);
                var ev = new InputEvent(BinaryPrimitives.ReadUInt16LittleEndian(e), BinaryPrimitives.ReadUInt16LittleEndian(e[2..]), BinaryPrimitives.ReadInt32LittleEndian(e[4..]));
                Console.WriteLine($"FORWARD {ev}");
                packet.Add(ev);
                if (ev.Type == EvSyn && ev.Code == 0)
                {
                    uinput.Write(packet);
                    packet.Clear();
                }

                buffers[eventq.Ring.AddChain(DriverBuffer.DeviceWritable(gpa, EventSize))] = gpa;
                refilled = true;
            }

            if (refilled)
            {
                eventq.Notify();
            }

            statusq.Ring.EnableInterrupts();
            while (statusq.Ring.TryGetUsed(out ushort id, out _))
            {
                if (busyStatus.Remove(id, out ulong gpa))
                {
                    freeStatus.Push(gpa);
                }
            }

            bool sent = false;
            foreach (InputEvent ev in uinput.Read(5))
            {
                if (ev.Type is not (EvMsc or EvLed or EvSnd))
                {
                    continue;
                }

                if (!freeStatus.TryPop(out ulong gpa))
                {
                    throw new ProbeException("no status buffer left: the back end does not complete them");
                }

                BinaryPrimitives.WriteUInt16LittleEndian(w, ev.Type);
                BinaryPrimitives.WriteUInt16LittleEndian(w[2..], ev.Code);
                BinaryPrimitives.WriteInt32LittleEndian(w[4..], ev.Value);
                s.Memory.WriteBytes(gpa, w);
                busyStatus[statusq.Ring.AddChain(DriverBuffer.DeviceReadable(gpa, EventSize))] = gpa;
                Console.WriteLine($"STATUS {ev}");
                sent = true;
            }

            if (sent)
            {
                statusq.Notify();
            }
        }

        Console.WriteLine($"STOPPED {s.Stop()}");
    }

    /// <summary>The uinput profile that mirrors the config space.</summary>
    private static DeviceProfile Profile(Func<byte, byte, byte[]> select)
    {
        byte[] ids = select(CfgIdDevids, 0);
        var p = new DeviceProfile
        {
            Name = Encoding.UTF8.GetString(select(CfgIdName, 0)),
            BusType = ids.Length >= 8 ? BinaryPrimitives.ReadUInt16LittleEndian(ids) : (ushort)0,
            Vendor = ids.Length >= 8 ? BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(2)) : (ushort)0,
            Product = ids.Length >= 8 ? BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(4)) : (ushort)0,
            Version = ids.Length >= 8 ? BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(6)) : (ushort)0,
        };
        p.EventTypes.Clear();
        p.Keys.Clear();
        p.Axes.Clear();
        p.MscCodes.Clear();
        p.Leds.Clear();
        p.Properties.Clear();
        p.EventTypes.Add(EvSyn);
        p.Properties.AddRange(Codes(select(CfgPropBits, 0)));
        for (int type = 1; type <= 0x1f; type++)
        {
            List<int> codes = Codes(select(CfgEvBits, (byte)type));
            if (codes.Count == 0)
            {
                continue;
            }

            p.EventTypes.Add(type);
            switch (type)
            {
                case EvKey: p.Keys.AddRange(codes); break;
                case EvMsc: p.MscCodes.AddRange(codes); break;
                case EvLed: p.Leds.AddRange(codes); break;
                case EvAbs:
                    foreach (int axis in codes)
                    {
                        byte[] a = select(CfgAbsInfo, (byte)axis);
                        if (a.Length >= 20)
                        {
                            p.Axes.Add(new AxisInfo(axis, I32(a, 0), I32(a, 4), I32(a, 8), I32(a, 12), I32(a, 16)));
                        }
                    }

                    break;
            }
        }

        return p;
    }

    private static int I32(byte[] b, int at) => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(at));

    private static List<int> Codes(byte[] bits)
    {
        var codes = new List<int>();
        for (int i = 0; i < bits.Length * 8; i++)
        {
            if ((bits[i / 8] & (1 << (i % 8))) != 0)
            {
                codes.Add(i);
            }
        }

        return codes;
    }
}
