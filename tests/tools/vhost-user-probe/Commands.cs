// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tools.Probe;

/// <summary>The probe's commands. Each prints parseable lines on stdout and throws <see cref="ProbeException"/> on failure.</summary>
internal static class Commands
{
    // struct virtio_input_config (virtio 1.2 §5.8.4).
    private const int InputConfigSize = 136;
    private const int InputUnionOffset = 8;
    private const byte CfgIdName = 0x01;
    private const byte CfgIdSerial = 0x02;
    private const byte CfgIdDevids = 0x03;
    private const byte CfgPropBits = 0x10;
    private const byte CfgEvBits = 0x11;
    private const byte CfgAbsInfo = 0x12;
    private const int EvMax = 0x1f;
    private const int EvAbs = 0x03;
    private const ushort EvLed = 0x11;
    private const int InputEventSize = 8;
    private const uint EventQueue = 0;
    private const uint StatusQueue = 1;

    // virtio-blk (virtio 1.2 §5.2).
    private const ulong BlkFFlush = 1UL << 9;
    private const uint BlkTIn = 0;
    private const uint BlkTOut = 1;
    private const uint BlkTFlush = 4;
    private const int SectorSize = 512;
    private const int BlkSectorsPerRequest = 128;

    /// <summary><c>features</c>: what the back end offers.</summary>
    public static void Features(ProbeSession s)
    {
        Console.WriteLine($"FEATURES 0x{s.OfferedFeatures:x16}");
        Console.WriteLine($"PROTOCOL_FEATURES 0x{(ulong)s.OfferedProtocolFeatures:x16}");
        Console.WriteLine((s.OfferedProtocolFeatures & ProtocolFeatures.Mq) != 0 ? $"QUEUES {s.QueueNum}" : "QUEUES - (MQ not offered)");
    }

    /// <summary><c>input-config</c>: every select of the virtio-input config space, decoded.</summary>
    public static void InputConfig(ProbeSession s)
    {
        RequireConfig(s);
        Console.WriteLine($"NAME {Encoding.UTF8.GetString(Select(s, CfgIdName, 0))}");
        Console.WriteLine($"SERIAL {Encoding.UTF8.GetString(Select(s, CfgIdSerial, 0))}");

        byte[] ids = Select(s, CfgIdDevids, 0);
        if (ids.Length >= 8)
        {
            Console.WriteLine(
                $"DEVIDS {BinaryPrimitives.ReadUInt16LittleEndian(ids):x4} {BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(2)):x4} " +
                $"{BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(4)):x4} {BinaryPrimitives.ReadUInt16LittleEndian(ids.AsSpan(6)):x4}");
        }
        else
        {
            Console.WriteLine($"DEVIDS - (size {ids.Length})");
        }

        byte[] props = Select(s, CfgPropBits, 0);
        Console.WriteLine($"PROP_BITS {Hex(props)}");
        Console.WriteLine($"PROP_CODES {Codes(props)}");

        byte[] absBits = [];
        for (int type = 0; type <= EvMax; type++)
        {
            byte[] bits = Select(s, CfgEvBits, (byte)type);
            if (bits.Length == 0)
            {
                continue;
            }

            Console.WriteLine($"EV_BITS {type} {Hex(bits)}");
            Console.WriteLine($"EV_CODES {type} {Codes(bits)}");
            if (type == EvAbs)
            {
                absBits = bits;
            }
        }

        for (int axis = 0; axis < absBits.Length * 8; axis++)
        {
            if ((absBits[axis / 8] & (1 << (axis % 8))) == 0)
            {
                continue;
            }

            byte[] info = Select(s, CfgAbsInfo, (byte)axis);
            if (info.Length < 20)
            {
                throw new ProbeException($"ABS_INFO of axis {axis} has {info.Length} bytes, not 20");
            }

            Console.WriteLine(
                $"ABS_INFO {axis} {I32(info, 0)} {I32(info, 4)} {I32(info, 8)} {I32(info, 12)} {I32(info, 16)}");
        }
    }

    /// <summary>
    /// <c>input-events</c>: fills the eventq with 8-byte buffers (refilled as they come back, like the
    /// Linux driver), prints READY, then prints each received event as <c>EVENT type code value</c>.
    /// </summary>
    public static void InputEvents(ProbeSession s, ProbeOptions o)
    {
        IReadOnlyList<ProbeQueue> queues = s.Start(0, o.QueueSize, EventQueue, StatusQueue);
        ProbeQueue eventq = queues[0];
        var buffers = new Dictionary<ushort, ulong>();
        for (int i = 0; i < o.QueueSize; i++)
        {
            ulong gpa = s.Memory.Alloc(InputEventSize, 8);
            buffers[eventq.Ring.AddChain(DriverBuffer.DeviceWritable(gpa, InputEventSize))] = gpa;
        }

        eventq.Notify();
        SignalReady(o);

        var clock = Stopwatch.StartNew();
        int received = ReceiveEvents(s, eventq, buffers, o.Count, clock, o.TimeoutMs);
        if (received < o.Count)
        {
            throw new ProbeException($"timeout: {received} of {o.Count} events within {o.TimeoutMs} ms");
        }

        Console.WriteLine($"EVENTS_DONE {received} {clock.ElapsedMilliseconds} ms");
        if (o.IdleMs > 0)
        {
            int extra = ReceiveEvents(s, eventq, buffers, int.MaxValue, clock, clock.ElapsedMilliseconds + o.IdleMs, "EXTRA");
            if (extra > 0)
            {
                throw new ProbeException($"{extra} events more than the {o.Count} expected");
            }
        }

        Console.WriteLine($"STOPPED {s.Stop()}");
    }

    /// <summary>
    /// <c>input-led</c>: sends one EV_LED event on the statusq in its own 8-byte buffer (what the Linux
    /// driver's <c>virtinput_status</c> sends: no SYN follows) and waits for it to be used. Events that
    /// arrive on the (filled) eventq meanwhile and for <c>--events-ms</c> after are printed too.
    /// </summary>
    public static void InputLed(ProbeSession s, ProbeOptions o)
    {
        IReadOnlyList<ProbeQueue> queues = s.Start(0, o.QueueSize, EventQueue, StatusQueue);
        ProbeQueue eventq = queues[0];
        ProbeQueue statusq = queues[1];
        var buffers = new Dictionary<ushort, ulong>();
        for (int i = 0; i < o.QueueSize; i++)
        {
            ulong gpa = s.Memory.Alloc(InputEventSize, 8);
            buffers[eventq.Ring.AddChain(DriverBuffer.DeviceWritable(gpa, InputEventSize))] = gpa;
        }

        eventq.Notify();

        Span<byte> led = stackalloc byte[InputEventSize];
        BinaryPrimitives.WriteUInt16LittleEndian(led, EvLed);
        BinaryPrimitives.WriteUInt16LittleEndian(led[2..], (ushort)o.Code);
        BinaryPrimitives.WriteInt32LittleEndian(led[4..], o.Value);
        ulong statusGpa = s.Memory.AllocBytes(led, 8);
        ushort head = statusq.Ring.AddChain(DriverBuffer.DeviceReadable(statusGpa, InputEventSize));
        statusq.Notify();
        Console.WriteLine($"LED_SENT {o.Code} {o.Value}");

        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (!s.WaitUsed(statusq, clock, o.TimeoutMs))
            {
                throw new ProbeException($"the status buffer was not used within {o.TimeoutMs} ms");
            }

            if (statusq.Ring.TryGetUsed(out ushort id, out uint length))
            {
                if (id != head)
                {
                    throw new ProbeException($"statusq returned id {id}, but {head} was posted");
                }

                Console.WriteLine($"LED_USED {o.Code} {o.Value} len {length} {clock.ElapsedMilliseconds} ms");
                break;
            }
        }

        ReceiveEvents(s, eventq, buffers, int.MaxValue, clock, clock.ElapsedMilliseconds + o.EventsMs);
        Console.WriteLine($"STOPPED {s.Stop()}");
    }

    /// <summary><c>input-relay</c>: see <see cref="Probe.InputRelay"/>.</summary>
    public static void InputRelay(ProbeSession s, ProbeOptions o)
    {
        RequireConfig(s);
        Probe.InputRelay.Run(s, o, (select, subsel) => Select(s, select, subsel));
    }

    /// <summary><c>rng</c>: reads <c>--bytes</c> from the requestq in buffers of up to 4 KiB.</summary>
    public static void Rng(ProbeSession s, ProbeOptions o)
    {
        ProbeQueue q = s.Start(0, o.QueueSize, 0)[0];
        byte[] data = new byte[o.Bytes];
        const int Chunk = 4096;
        ulong gpa = s.Memory.Alloc(Chunk, 16);
        var clock = Stopwatch.StartNew();
        int got = 0;
        int requests = 0;
        while (got < data.Length)
        {
            uint want = (uint)Math.Min(Chunk, data.Length - got);
            s.Memory.Fill(gpa, (int)want, 0);
            ushort head = q.Ring.AddChain(DriverBuffer.DeviceWritable(gpa, want));
            q.Notify();
            requests++;
            uint written = WaitOne(s, q, head, clock, o.TimeoutMs, "rng request");
            if (written > want)
            {
                throw new ProbeException($"the device claims {written} bytes written into a {want}-byte buffer");
            }

            s.Memory.GetSpan(gpa, (int)written).CopyTo(data.AsSpan(got));
            got += (int)written;
        }

        var distinct = new HashSet<byte>(data);
        Console.WriteLine($"RNG_BYTES {got} in {requests} requests, {clock.ElapsedMilliseconds} ms");
        Console.WriteLine($"RNG_SHA256 {Sha256.HexDigest(data)}");
        Console.WriteLine($"RNG_DISTINCT {distinct.Count}");
        Console.WriteLine($"RNG_FIRST16 {Convert.ToHexStringLower(data.AsSpan(0, Math.Min(16, data.Length)))}");
        Console.WriteLine($"STOPPED {s.Stop()}");
    }

    /// <summary>
    /// <c>blk-rw</c>: writes <c>--sectors</c> random sectors from <c>--start-sector</c>, flushes (if
    /// offered), reads them back and compares. Prints <c>BLK_CAPACITY</c> and <c>BLK_OK sha256</c>.
    /// </summary>
    public static void BlkRw(ProbeSession s, ProbeOptions o)
    {
        RequireConfig(s);
        ulong capacity = BinaryPrimitives.ReadUInt64LittleEndian(s.Frontend.GetConfig(0, 8));
        Console.WriteLine($"BLK_CAPACITY {capacity}");
        if ((ulong)o.StartSector + (ulong)o.Sectors > capacity)
        {
            throw new ProbeException($"sectors {o.StartSector}+{o.Sectors} exceed the capacity {capacity}");
        }

        ProbeQueue q = s.Start(BlkFFlush, o.QueueSize, 0)[0];
        byte[] data = new byte[o.Sectors * SectorSize];
        Random.Shared.NextBytes(data);
        byte[] back = new byte[data.Length];
        ulong header = s.Memory.Alloc(16, 16);
        ulong status = s.Memory.Alloc(1, 1);
        ulong buffer = s.Memory.Alloc(BlkSectorsPerRequest * SectorSize, 512);
        var clock = Stopwatch.StartNew();

        for (int done = 0; done < o.Sectors; done += BlkSectorsPerRequest)
        {
            int n = Math.Min(BlkSectorsPerRequest, o.Sectors - done);
            s.Memory.WriteBytes(buffer, data.AsSpan(done * SectorSize, n * SectorSize));
            BlkRequest(s, q, header, status, BlkTOut, (ulong)(o.StartSector + done), buffer, n, clock, o.TimeoutMs);
        }

        if ((s.OfferedFeatures & BlkFFlush) != 0)
        {
            BlkRequest(s, q, header, status, BlkTFlush, 0, 0, 0, clock, o.TimeoutMs);
            Console.WriteLine("BLK_FLUSH ok");
        }

        for (int done = 0; done < o.Sectors; done += BlkSectorsPerRequest)
        {
            int n = Math.Min(BlkSectorsPerRequest, o.Sectors - done);
            s.Memory.Fill(buffer, n * SectorSize, 0xa5);
            BlkRequest(s, q, header, status, BlkTIn, (ulong)(o.StartSector + done), buffer, n, clock, o.TimeoutMs);
            s.Memory.GetSpan(buffer, n * SectorSize).CopyTo(back.AsSpan(done * SectorSize));
        }

        int mismatch = data.AsSpan().CommonPrefixLength(back);
        if (mismatch != data.Length)
        {
            throw new ProbeException($"read-back differs from what was written at byte {mismatch} (sector {o.StartSector + (mismatch / SectorSize)})");
        }

        Console.WriteLine($"BLK_OK {Sha256.HexDigest(data)} {o.Sectors} sectors {clock.ElapsedMilliseconds} ms");
        Console.WriteLine($"STOPPED {s.Stop()}");
    }

    private static void BlkRequest(ProbeSession s, ProbeQueue q, ulong header, ulong status, uint type, ulong sector, ulong buffer, int sectors, Stopwatch clock, long timeoutMs)
    {
        Span<byte> h = s.Memory.GetSpan(header, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
        s.Memory.Fill(status, 1, 0xff);
        DriverBuffer hdr = DriverBuffer.DeviceReadable(header, 16);
        DriverBuffer st = DriverBuffer.DeviceWritable(status, 1);
        uint length = (uint)(sectors * SectorSize);
        ushort head = type switch
        {
            BlkTOut => q.Ring.AddChain(hdr, DriverBuffer.DeviceReadable(buffer, length), st),
            BlkTIn => q.Ring.AddChain(hdr, DriverBuffer.DeviceWritable(buffer, length), st),
            _ => q.Ring.AddChain(hdr, st),
        };
        q.Notify();
        uint written = WaitOne(s, q, head, clock, timeoutMs, $"blk request type {type} sector {sector}");
        byte result = s.Memory.GetSpan(status, 1)[0];
        if (result != 0)
        {
            throw new ProbeException($"blk request type {type} sector {sector}: status {result}");
        }

        uint expected = type == BlkTIn ? length + 1 : 1;
        if (written != expected)
        {
            Console.Error.WriteLine($"vhost-user-probe: note: blk request type {type} reported {written} bytes written, {expected} expected");
        }
    }

    // Waits for the used element of the only outstanding chain on q.
    private static uint WaitOne(ProbeSession s, ProbeQueue q, ushort head, Stopwatch clock, long timeoutMs, string what)
    {
        while (true)
        {
            if (!s.WaitUsed(q, clock, timeoutMs))
            {
                throw new ProbeException($"{what}: no used buffer within {timeoutMs} ms");
            }

            if (q.Ring.TryGetUsed(out ushort id, out uint written))
            {
                return id == head ? written : throw new ProbeException($"{what}: used id {id}, but {head} was posted");
            }
        }
    }

    // Collects eventq events until `limit` arrived or the deadline passes; refills each buffer.
    private static int ReceiveEvents(ProbeSession s, ProbeQueue q, Dictionary<ushort, ulong> buffers, int limit, Stopwatch clock, long deadlineMs, string label = "EVENT")
    {
        int received = 0;
        while (received < limit)
        {
            if (!s.WaitUsed(q, clock, deadlineMs))
            {
                break;
            }

            bool refilled = false;
            while (received < limit && q.Ring.TryGetUsed(out ushort id, out uint length))
            {
                if (!buffers.Remove(id, out ulong gpa))
                {
                    throw new ProbeException($"eventq returned unknown id {id}");
                }

                if (length != InputEventSize)
                {
                    throw new ProbeException($"eventq buffer {id} came back with {length} bytes, not {InputEventSize}");
                }

                ReadOnlySpan<byte> e = s.Memory.GetSpan(gpa, InputEventSize);
                Console.WriteLine(
                    $"{label} {BinaryPrimitives.ReadUInt16LittleEndian(e)} {BinaryPrimitives.ReadUInt16LittleEndian(e[2..])} {BinaryPrimitives.ReadInt32LittleEndian(e[4..])}");
                received++;
                s.Memory.Fill(gpa, InputEventSize, 0);
                buffers[q.Ring.AddChain(DriverBuffer.DeviceWritable(gpa, InputEventSize))] = gpa;
                refilled = true;
            }

            if (refilled)
            {
                q.Notify();
            }
        }

        return received;
    }

    private static void SignalReady(ProbeOptions o)
    {
        Console.WriteLine("READY");
        if (o.ReadyFile is not null)
        {
            File.WriteAllText(o.ReadyFile, "ready\n");
        }
    }

    private static void RequireConfig(ProbeSession s)
    {
        if ((s.Frontend.NegotiatedProtocolFeatures & ProtocolFeatures.Config) == 0)
        {
            throw new ProbeException($"the back end does not offer VHOST_USER_PROTOCOL_F_CONFIG (protocol features 0x{(ulong)s.OfferedProtocolFeatures:x})");
        }
    }

    // SET_CONFIG(select, subsel) then GET_CONFIG of the whole structure; returns the union's `size` bytes.
    private static byte[] Select(ProbeSession s, byte select, byte subsel)
    {
        s.Frontend.SetConfig(0, [select, subsel]);
        byte[] config = s.Frontend.GetConfig(0, InputConfigSize);
        if (config[0] != select || config[1] != subsel)
        {
            Console.Error.WriteLine($"vhost-user-probe: note: config select/subsel read back as {config[0]:x2}/{config[1]:x2}, {select:x2}/{subsel:x2} written");
        }

        int size = config[2];
        if (size > InputConfigSize - InputUnionOffset)
        {
            throw new ProbeException($"select {select:x2}/{subsel:x2}: size {size} exceeds the 128-byte union");
        }

        return config.AsSpan(InputUnionOffset, size).ToArray();
    }

    private static string Hex(byte[] bytes) => bytes.Length == 0 ? "-" : Convert.ToHexStringLower(bytes);

    // Set bits as decimal codes, comma separated ("-" for none).
    private static string Codes(byte[] bitmap)
    {
        var codes = new List<string>();
        for (int bit = 0; bit < bitmap.Length * 8; bit++)
        {
            if ((bitmap[bit / 8] & (1 << (bit % 8))) != 0)
            {
                codes.Add(bit.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return codes.Count == 0 ? "-" : string.Join(',', codes);
    }

    private static int I32(byte[] data, int offset) => BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));
}
