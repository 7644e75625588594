// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Frontend;

namespace VirtioLoopback.Tests;

/// <summary>What the fuzzer needs to know about the device behind the socket.</summary>
/// <param name="Name">For messages.</param>
/// <param name="MaxQueues">The device's queue count.</param>
/// <param name="MaxQueueSize">The device's largest ring.</param>
/// <param name="IsBlk">Whether to put virtio-blk request headers into plausible chains.</param>
/// <param name="OversizedRegions">
/// Whether memory tables may declare regions larger than their memfd (the back end then touches
/// pages past the end of the file). Off only for in-process back ends, where the resulting SIGBUS
/// would take the test host down with it; the mapping code is shared, so the process fuzzers cover it.
/// </param>
internal sealed record FuzzTarget(string Name, int MaxQueues, ushort MaxQueueSize, bool IsBlk, bool OversizedRegions = true);

/// <summary>
/// A hostile front end: over real connections it sends random and mutated vhost-user messages with
/// real eventfds and memfds attached, breaks the framing, and sets up sessions with mutated fields
/// whose rings it then fills with random descriptor tables and kicks. Deterministic for a seed
/// (up to the back end's timing). It checks nothing itself but keeps the last messages for the report.
/// </summary>
internal sealed class VhostUserFuzzer : IDisposable
{
    private const int HeaderSize = 12;
    private const uint Version1 = 1;
    private const uint NeedReply = 8;
    private const int MaxPayload = 4096;
    private const int RingArea = 8192;
    private const ushort DescNext = 1;
    private const ushort DescWrite = 2;
    private const ushort DescIndirect = 4;

    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 257, 511, 512, 1023, 1024, 4096,
        32767, 32768, 65535, 65536, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000, ulong.MaxValue, ulong.MaxValue - 1, ulong.MaxValue - 4095,
    ];

    private readonly Random _r;
    private readonly IBackend _backend;
    private readonly FuzzTarget _target;
    private readonly TestGuestMemory _memory;
    private readonly ulong[] _descArea;
    private readonly ulong[] _availArea;
    private readonly ulong[] _usedArea;
    private readonly ulong _dataArea;
    private readonly int _dataSize;
    private readonly List<FileDescriptor> _pool = new();
    private readonly EventFd[] _kicks;
    private readonly EventFd[] _calls;
    private readonly FileDescriptor[] _smallMemFds;
    private readonly Queue<string> _recent = new();
    private readonly List<FileDescriptor> _receivedFds = new();
    private readonly byte[] _rx = new byte[64 * 1024];
    private int _rxFill;
    private int _featureReplies;
    private UnixSocket? _conn;
    private ulong _offeredFeatures;
    private ulong _offeredProtocol;
    private ushort[] _ringSize = [];
    private ushort[] _availIdx = [];

    public VhostUserFuzzer(IBackend backend, FuzzTarget target, int seed)
    {
        _backend = backend;
        _target = target;
        Seed = seed;
        _r = new Random(seed);
        _memory = new TestGuestMemory(8 << 20);
        int queues = target.MaxQueues;
        _descArea = new ulong[queues];
        _availArea = new ulong[queues];
        _usedArea = new ulong[queues];
        for (int q = 0; q < queues; q++)
        {
            _descArea[q] = _memory.Alloc(RingArea * 2, 4096);
            _availArea[q] = _memory.Alloc(RingArea, 4096);
            _usedArea[q] = _memory.Alloc(RingArea * 2, 4096);
        }

        _dataSize = 1 << 20;
        _dataArea = _memory.Alloc((ulong)_dataSize, 4096);
        _kicks = new EventFd[queues];
        _calls = new EventFd[queues];
        for (int q = 0; q < queues; q++)
        {
            _kicks[q] = EventFd.Create();
            _calls[q] = EventFd.Create();
        }

        _smallMemFds = [MemFd.Create("fuzz-small", 4096), MemFd.Create("fuzz-64k", 64 << 10), MemFd.Create("fuzz-1m", 1 << 20)];
        for (int i = 0; i < 4; i++)
        {
            _pool.Add(EventFd.Create().Handle);
        }

        _pool.AddRange(_smallMemFds);
        _pool.Add(_memory.Fd);
        _pool.Add(_kicks[0].Handle);

        // Learn what the back end offers with one ordinary session.
        using VhostUserFrontend probe = VhostUserFrontend.Connect(backend.SocketPath, TimeSpan.FromSeconds(30));
        _offeredFeatures = probe.GetFeatures();
        _offeredProtocol = (ulong)probe.GetProtocolFeatures();
    }

    public int Seed { get; }

    public int Messages { get; private set; }

    public int Episodes { get; private set; }

    public int Kicks { get; private set; }

    /// <summary>The last messages sent, newest last.</summary>
    public string Recent => string.Join("\n", _recent);

    /// <summary>Fuzzes for <paramref name="budget"/> (or <paramref name="maxMessages"/>), checking after every episode that the back end lives.</summary>
    public void Run(TimeSpan budget, int maxMessages)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (clock.Elapsed < budget && Messages < maxMessages)
        {
            Episodes++;
            Note($"--- episode {Episodes}");
            try
            {
                int kind = _r.Next(100);
                if (kind < 25)
                {
                    Garbage();
                }
                else if (kind < 40)
                {
                    Framing();
                }
                else
                {
                    Session(mutate: kind < 85);
                }
            }
            catch (Exception e) when (e is SysException or VhostUser.Protocol.VhostUserDisconnectedException)
            {
                // The back end closed this connection on us: allowed, as long as it lives on.
                Note($"connection ended: {e.GetType().Name}: {e.Message}");
            }
            finally
            {
                Close();
            }

            if (!_backend.IsAlive)
            {
                throw new InvalidOperationException($"The back end died during fuzz episode {Episodes} (seed {Seed}, {Messages} messages).");
            }
        }
    }

    public void Dispose()
    {
        Close();
        foreach (FileDescriptor fd in _pool)
        {
            if (fd != _memory.Fd && fd != _kicks[0].Handle)
            {
                fd.Dispose();
            }
        }

        foreach (EventFd e in _kicks)
        {
            e.Dispose();
        }

        foreach (EventFd e in _calls)
        {
            e.Dispose();
        }

        _memory.Dispose();
    }

    /// <summary>Random requests, random payloads and sizes, random fds.</summary>
    private void Garbage()
    {
        Open();
        int count = _r.Next(1, 40);
        for (int i = 0; i < count; i++)
        {
            uint request = _r.Next(10) == 0 ? (uint)_r.Next() : (uint)_r.Next(0, 48);
            int size = _r.Next(4) switch
            {
                0 => 0,
                1 => _r.Next(1, 64),
                2 => _r.Next(64, 520),
                _ => _r.Next(0, MaxPayload + 1),
            };
            byte[] payload = RandomBytes(size);
            uint flags = Version1 | (_r.Next(3) == 0 ? NeedReply : 0);
            SendRaw(request, flags, payload, RandomFds(_r.Next(3) == 0 ? _r.Next(0, 9) : 0));
        }
    }

    /// <summary>Broken framing: bad versions, oversize payloads, truncated headers and payloads.</summary>
    private void Framing()
    {
        Open();
        byte[] header = new byte[HeaderSize];
        switch (_r.Next(6))
        {
            case 0:
                // Bad version bits (0, 2, 3) and random upper flags.
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)_r.Next(1, 44));
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), ((uint)_r.Next() & ~3u) | (uint)new[] { 0, 2, 3 }[_r.Next(3)]);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 8);
                SendBytes([.. header, .. RandomBytes(8)], RandomFds(_r.Next(0, 3)));
                break;
            case 1:
                // A size above the limit, with or without that much data behind it.
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)_r.Next(1, 44));
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Version1);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)Pick([4097, 8192, 65536, 0x7fff_ffff, 0xffff_ffff]));
                SendBytes([.. header, .. RandomBytes(_r.Next(0, 5000))], RandomFds(_r.Next(0, 2)));
                break;
            case 2:
                // A truncated header, then silence and a close.
                SendBytes(RandomBytes(_r.Next(1, HeaderSize)), RandomFds(_r.Next(0, 2)));
                break;
            case 3:
                // A header promising more payload than follows.
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)_r.Next(1, 44));
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Version1);
                int promised = _r.Next(2, MaxPayload + 1);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)promised);
                SendBytes([.. header, .. RandomBytes(_r.Next(0, promised))], RandomFds(_r.Next(0, 3)));
                break;
            case 4:
                // A reply where a request belongs.
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)_r.Next(1, 44));
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Version1 | 4);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 8);
                SendBytes([.. header, .. RandomBytes(8)], default);
                Garbage();
                break;
            default:
                // Several valid messages glued into one write, the last one cut short.
                List<byte> glued = new();
                for (int i = 0; i < _r.Next(2, 6); i++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)Pick([1, 3, 15, 17, 8, 10, 18]));
                    BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Version1);
                    BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 8);
                    glued.AddRange(header);
                    glued.AddRange(RandomBytes(8));
                }

                SendBytes(glued.GetRange(0, glued.Count - _r.Next(1, 12)).ToArray(), RandomFds(_r.Next(0, 9)));
                break;
        }

        Thread.Sleep(_r.Next(0, 3));
    }

    /// <summary>A QEMU-like session, with mutated fields when <paramref name="mutate"/>, then random descriptor tables and kicks.</summary>
    private void Session(bool mutate)
    {
        Open();
        double p = mutate ? 0.15 : 0.0;
        Send(1, []); // GET_FEATURES
        Send(15, []); // GET_PROTOCOL_FEATURES
        Send(16, U64(Maybe(p, _offeredProtocol & ~(1UL << 5) /* no back-end channel */, () => RandomU64())));
        Send(3, []); // SET_OWNER
        if (_r.NextDouble() < 0.3)
        {
            Send(17, []); // GET_QUEUE_NUM
        }

        bool inflight = (_offeredProtocol & (1UL << 12)) != 0 && _r.Next(4) == 0;
        if (inflight)
        {
            Send(31, Inflight(p)); // GET_INFLIGHT_FD
        }

        Send(2, U64(Maybe(p, _offeredFeatures, () => _offeredFeatures ^ (1UL << _r.Next(64)))));
        SendMemTable(mutate && _r.NextDouble() < 0.3);
        if (inflight && _r.Next(2) == 0)
        {
            // A file smaller than the area is only allowed where a SIGBUS may happen (see FuzzTarget).
            byte[] area = Inflight(p);
            if (!_target.OversizedRegions)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(area, Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(area), 1 << 20));
                BinaryPrimitives.WriteUInt64LittleEndian(area.AsSpan(8), 0);
            }

            Send(32, area, [_target.OversizedRegions ? _smallMemFds[_r.Next(_smallMemFds.Length)] : _smallMemFds[2]]); // SET_INFLIGHT_FD
        }

        int queues = _target.MaxQueues;
        _ringSize = new ushort[queues];
        _availIdx = new ushort[queues];
        for (int q = 0; q < queues; q++)
        {
            ushort size = (ushort)(1 << _r.Next(1, 1 + (int)Math.Log2(Math.Min(_target.MaxQueueSize, (ushort)256))));
            _ringSize[q] = size;
            ClearRing(q);
            uint index = (uint)Maybe(p, (ulong)q, () => Pick([(ulong)_target.MaxQueues, 255, 256, 0xffff_ffff, (ulong)_r.Next(0, 300)]));
            Send(8, State(index, (uint)Maybe(p, size, () => Pick([0, 3, 100, 32768, 65535, 65536, 0xffff_ffff])))); // SET_VRING_NUM
            Send(10, State(index, (uint)Maybe(p, 0, () => RandomU64()))); // SET_VRING_BASE
            Send(9, Address(index, q, p)); // SET_VRING_ADDR
            SendVringFd(13, index, _calls[q].Handle, p); // SET_VRING_CALL
            SendVringFd(12, index, _kicks[q].Handle, p); // SET_VRING_KICK
        }

        for (int q = 0; q < queues; q++)
        {
            Send(18, State((uint)Maybe(p, (ulong)q, () => Pick([(ulong)_target.MaxQueues, 200, 256])), (uint)Maybe(p, 1, () => Pick([0, 2, 0xffff_ffff])))); // SET_VRING_ENABLE
        }

        if (!Barrier())
        {
            return;
        }

        int rounds = _r.Next(1, 12);
        for (int round = 0; round < rounds; round++)
        {
            int q = _r.Next(queues);
            if (mutate || _r.Next(3) == 0)
            {
                RandomDescriptors(q);
            }
            else
            {
                PlausibleChains(q);
            }

            _kicks[q].Signal();
            Kicks++;
            if (_r.Next(4) == 0)
            {
                MidSessionMessage(p);
            }

            if (_r.Next(3) == 0)
            {
                Thread.Sleep(1);
            }
        }

        if (_r.Next(2) == 0)
        {
            Barrier();
        }
    }

    /// <summary>Control messages while the rings run: stops, memory swaps, resets, config access.</summary>
    private void MidSessionMessage(double p)
    {
        int q = _r.Next(_target.MaxQueues);
        switch (_r.Next(9))
        {
            case 0:
                Send(11, State((uint)Maybe(p, (ulong)q, () => Pick([255, 256, 1000])), 0)); // GET_VRING_BASE
                break;
            case 1:
                SendMemTable(_r.Next(2) == 0);
                break;
            case 2:
                Send(34, []); // RESET_DEVICE
                break;
            case 3:
                byte[] get = new byte[12 + _r.Next(0, 257)];
                BinaryPrimitives.WriteUInt32LittleEndian(get, (uint)Pick([0, 1, 8, 32, 100, 135, 136, 255, 256, 0xffff_ffff]));
                BinaryPrimitives.WriteUInt32LittleEndian(get.AsSpan(4), (uint)(get.Length - 12));
                Send(24, get); // GET_CONFIG
                break;
            case 4:
                byte[] set = new byte[12 + _r.Next(0, 9)];
                _r.NextBytes(set);
                BinaryPrimitives.WriteUInt32LittleEndian(set, (uint)Pick([0, 1, 2, 32, 33, 135, 136, 0xffff_fff0]));
                BinaryPrimitives.WriteUInt32LittleEndian(set.AsSpan(4), (uint)(set.Length - 12));
                BinaryPrimitives.WriteUInt32LittleEndian(set.AsSpan(8), 0);
                Send(25, set); // SET_CONFIG
                break;
            case 5:
                Send(39, U64(Pick([0, 1, 3, 7, 15, 0x8f, 255]))); // SET_STATUS
                break;
            case 6:
                Send(8, State((uint)q, (uint)Pick([0, 4, 65535, 65536]))); // SET_VRING_NUM while started
                break;
            case 7:
                (byte[] region, FileDescriptor regionFd) = SingleRegion();
                Send(37, region, [regionFd]); // ADD_MEM_REG
                break;
            default:
                SendVringFd(12, (uint)q, _r.Next(2) == 0 ? _kicks[q].Handle : null, p); // SET_VRING_KICK again (or no fd)
                break;
        }
    }

    /// <summary>Fills ring <paramref name="q"/> with random descriptors and avail entries.</summary>
    private void RandomDescriptors(int q)
    {
        ushort size = _ringSize[q];
        for (int i = 0; i < size; i++)
        {
            ulong address = _r.Next(4) switch
            {
                0 => RandomU64(),
                1 => Pick(Interesting),
                _ => _dataArea + (ulong)_r.Next(0, _dataSize),
            };
            uint length = _r.Next(3) == 0 ? (uint)Pick(Interesting) : (uint)_r.Next(0, 8192);
            ushort flags = (ushort)(_r.Next(4) == 0 ? _r.Next(0, 65536) : _r.Next(0, 8));
            ushort next = (ushort)(_r.Next(4) == 0 ? _r.Next(0, 65536) : _r.Next(0, size));
            WriteDesc(_descArea[q] + ((ulong)i * 16), address, length, flags, next);
        }

        // Some indirect tables in the data area, with random contents.
        for (int t = 0; t < 4; t++)
        {
            ulong table = _dataArea + (ulong)(_r.Next(0, (_dataSize / 16) - 64) * 16);
            for (int i = 0; i < _r.Next(1, 40); i++)
            {
                WriteDesc(table + ((ulong)i * 16), _dataArea + (ulong)_r.Next(0, _dataSize), (uint)_r.Next(0, 5000), (ushort)_r.Next(0, 8), (ushort)_r.Next(0, 48));
            }
        }

        int count = _r.Next(1, size + 1);
        for (int i = 0; i < count; i++)
        {
            _memory.WriteU16(_availArea[q] + 4 + (2 * (ulong)((_availIdx[q] + i) & (size - 1))), (ushort)(_r.Next(8) == 0 ? _r.Next(0, 65536) : _r.Next(0, size)));
        }

        _availIdx[q] = _r.Next(8) == 0 ? (ushort)_r.Next(0, 65536) : (ushort)(_availIdx[q] + count);
        _memory.WriteU16(_availArea[q], (ushort)_r.Next(0, 2));
        Interlocked.MemoryBarrier();
        _memory.WriteU16(_availArea[q] + 2, _availIdx[q]);
    }

    /// <summary>Well-formed chains into valid memory whose request contents are random (device-level fuzzing).</summary>
    private void PlausibleChains(int q)
    {
        ushort size = _ringSize[q];
        ushort usedIdx = _memory.ReadU16(_usedArea[q] + 2);
        int free = size - (ushort)(_availIdx[q] - usedIdx);
        if (free <= 0 || free > size)
        {
            return;
        }

        int chains = _r.Next(1, Math.Min(free, 8) + 1);
        int slot = _r.Next(0, size);
        for (int c = 0; c < chains; c++)
        {
            int parts = _r.Next(1, 4);
            ushort head = (ushort)slot;
            for (int i = 0; i < parts; i++)
            {
                ushort index = (ushort)((slot + i) % size);
                bool last = i == parts - 1;
                ulong buffer = _dataArea + (ulong)(_r.Next(0, (_dataSize / 512) - 16) * 512);
                uint length = (uint)(_r.Next(2) == 0 ? 16 : _r.Next(1, 4097));
                if (_target.IsBlk && i == 0)
                {
                    // A request header with a real type and a plausible (or not) sector.
                    _memory.WriteU32(buffer, (uint)Pick([0, 1, 4, 8, 11, 13, 14, 10, (ulong)_r.Next()]));
                    _memory.WriteU32(buffer + 4, 0);
                    _memory.WriteU64(buffer + 8, _r.Next(3) == 0 ? RandomU64() : (ulong)_r.Next(0, 9000));
                    length = 16 + (uint)(_r.Next(3) == 0 ? 16 * _r.Next(1, 4) : 0);
                }

                ushort flags = (ushort)((last ? 0 : DescNext) | (i > 0 || !_target.IsBlk ? (_r.Next(3) == 0 ? 0 : DescWrite) : 0));
                WriteDesc(_descArea[q] + ((ulong)index * 16), buffer, length, flags, (ushort)((index + 1) % size));
            }

            _memory.WriteU16(_availArea[q] + 4 + (2 * (ulong)(_availIdx[q] & (size - 1))), head);
            _availIdx[q]++;
            slot = (slot + parts) % size;
        }

        Interlocked.MemoryBarrier();
        _memory.WriteU16(_availArea[q] + 2, _availIdx[q]);
    }

    private void SendMemTable(bool bogus)
    {
        List<(ulong Gpa, ulong Size, ulong User, ulong Offset, FileDescriptor Fd)> regions = new();
        if (!bogus)
        {
            regions.Add((_memory.Gpa, _memory.Size, _memory.UserAddr, _memory.MmapOffset, _memory.Fd));
        }
        else
        {
            int n = _r.Next(0, 9);
            for (int i = 0; i < n; i++)
            {
                FileDescriptor fd = _r.Next(3) == 0 ? _memory.Fd : _smallMemFds[_r.Next(_smallMemFds.Length)];
                regions.Add(_r.Next(5) switch
                {
                    // Declares more than the memfd holds (the rings will sit past its end).
                    0 when _target.OversizedRegions => (_memory.Gpa, _memory.Size, _memory.UserAddr, 0, _smallMemFds[_r.Next(_smallMemFds.Length)]),
                    1 when _target.OversizedRegions => (Pick(Interesting), Pick(Interesting), Pick(Interesting), Pick(Interesting), fd),
                    0 or 2 => (_memory.Gpa, _memory.Size - ((ulong)_r.Next(0, 64) * 4096), _memory.UserAddr, (ulong)_r.Next(0, 64) * 4096, _memory.Fd),
                    3 => ((ulong)_r.Next(0, 4) << 20, _target.OversizedRegions ? (ulong)_r.Next(1, 3) << 20 : 4096, _memory.UserAddr + ((ulong)_r.Next(0, 8) << 20), 0, fd),
                    1 => (Pick(Interesting), 4096, Pick(Interesting), 0, fd),
                    _ when _target.OversizedRegions => (RandomU64(), RandomU64() >> _r.Next(0, 64), RandomU64(), RandomU64() >> _r.Next(0, 64), fd),
                    _ => (RandomU64(), 4096, RandomU64(), 0, fd),
                });
            }
        }

        byte[] payload = new byte[8 + (32 * regions.Count)];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)regions.Count);
        FileDescriptor[] fds = new FileDescriptor[regions.Count];
        for (int i = 0; i < regions.Count; i++)
        {
            Span<byte> r = payload.AsSpan(8 + (32 * i));
            BinaryPrimitives.WriteUInt64LittleEndian(r, regions[i].Gpa);
            BinaryPrimitives.WriteUInt64LittleEndian(r[8..], regions[i].Size);
            BinaryPrimitives.WriteUInt64LittleEndian(r[16..], regions[i].User);
            BinaryPrimitives.WriteUInt64LittleEndian(r[24..], regions[i].Offset);
            fds[i] = regions[i].Fd;
        }

        if (bogus && _r.Next(4) == 0)
        {
            // The count disagrees with the regions or the fds.
            BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)Pick([0, 1, 8, 9, 255, 0xffff_ffff]));
        }

        Send(5, payload, bogus && _r.Next(4) == 0 ? RandomFds(_r.Next(0, 9)) : fds);
    }

    private byte[] Address(uint index, int q, double p)
    {
        byte[] a = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(a, index);
        BinaryPrimitives.WriteUInt32LittleEndian(a.AsSpan(4), (uint)Maybe(p, 0, () => Pick([1, 2, 0xffff_ffff])));
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(8), Maybe(p, _memory.ToUserAddr(_descArea[q]), () => WildUserAddr()));
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(16), Maybe(p, _memory.ToUserAddr(_usedArea[q]), () => WildUserAddr()));
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(24), Maybe(p, _memory.ToUserAddr(_availArea[q]), () => WildUserAddr()));
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(32), Maybe(p, 0, () => RandomU64()));
        return a;
    }

    /// <summary>A user address: anywhere, just past the memory, unaligned, or deep inside the declared region.</summary>
    private ulong WildUserAddr() => _r.Next(5) switch
    {
        0 => RandomU64(),
        1 => _memory.UserAddr + _memory.Size - (ulong)_r.Next(0, 64),
        2 => _memory.UserAddr + (ulong)_r.Next(1, 16),
        3 => _memory.UserAddr + ((ulong)_r.Next(1, 8) << 20),
        _ => Pick(Interesting),
    };

    private byte[] Inflight(double p)
    {
        byte[] d = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(d, Maybe(p, 0, () => Pick(Interesting)));
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(8), Maybe(p, 0, () => Pick(Interesting)));
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(16), (ushort)Maybe(p, (ulong)_target.MaxQueues, () => Pick([0, 1, 255, 65535])));
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(18), (ushort)Maybe(p, _target.MaxQueueSize, () => Pick([0, 1, 3, 32768, 65535])));
        return d;
    }

    private (byte[] Payload, FileDescriptor Fd) SingleRegion()
    {
        int which = _r.Next(_smallMemFds.Length);
        ulong[] fdSizes = [4096, 64 << 10, 1 << 20];
        byte[] d = new byte[40];
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(8), _r.Next(2) == 0 ? Pick(Interesting) : 0x10_0000_0000UL);
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(16), _target.OversizedRegions ? Pick([4096, 65536, 1 << 20, 1 << 24, 0]) : fdSizes[which]);
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(24), RandomU64());
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(32), _target.OversizedRegions ? Pick([0, 4096, 1 << 20]) : 0);
        return (d, _smallMemFds[which]);
    }

    private void SendVringFd(uint request, uint index, FileDescriptor? fd, double p)
    {
        bool noFd = fd is null || _r.NextDouble() < p / 2;
        ulong value = index | (noFd ? 0x100UL : 0);
        if (_r.NextDouble() < p / 2)
        {
            value |= (ulong)(uint)_r.Next(0x200, int.MaxValue);
        }

        // Sometimes the flag and the fds disagree, or the "eventfd" is a memfd.
        FileDescriptor[] fds = noFd ? [] : [fd!];
        if (_r.NextDouble() < p)
        {
            fds = RandomFds(_r.Next(0, 3));
        }

        Send(request, U64(value), fds);
    }

    /// <summary>Sends GET_FEATURES and reads until its reply: false if the back end closed the connection.</summary>
    private bool Barrier()
    {
        int before = _featureReplies;
        try
        {
            Send(1, []);
            Stopwatch clock = Stopwatch.StartNew();
            while (_featureReplies == before)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new TimeoutException($"No reply to GET_FEATURES within 10 s (seed {Seed}): the back end stopped answering.");
                }

                if (_conn!.WaitReadable(100))
                {
                    ReadSome();
                }
            }

            return true;
        }
        catch (VhostUser.Protocol.VhostUserDisconnectedException)
        {
            return false;
        }
    }

    private void Open()
    {
        Close();
        try
        {
            _conn = UnixSocket.Connect(_backend.SocketPath);
        }
        catch (SysException)
        {
            // Refused: most likely the back end just died; give the process table a moment to say so.
            Stopwatch clock = Stopwatch.StartNew();
            while (_backend.IsAlive && clock.Elapsed < TimeSpan.FromSeconds(2))
            {
                Thread.Sleep(10);
            }

            if (!_backend.IsAlive)
            {
                throw new InvalidOperationException($"The back end died during fuzz episode {Episodes - 1} or earlier (seed {Seed}, {Messages} messages).");
            }

            throw;
        }

        _rxFill = 0;
    }

    private void Close()
    {
        _conn?.Dispose();
        _conn = null;
        CloseReceivedFds();
    }

    private void Send(uint request, byte[] payload, FileDescriptor[]? fds = null)
    {
        uint flags = Version1 | (_r.Next(4) == 0 ? NeedReply : 0);
        SendRaw(request, flags, payload, fds ?? []);
    }

    private void SendRaw(uint request, uint flags, byte[] payload, FileDescriptor[] fds)
    {
        byte[] header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, request);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)payload.Length);
        Note($"req {request} flags 0x{flags:x} size {payload.Length} fds {fds.Length}: {Convert.ToHexString(payload, 0, Math.Min(payload.Length, 48))}");
        _conn!.Send(header, payload, fds);
        Messages++;
        Drain();
    }

    private void SendBytes(byte[] bytes, FileDescriptor[]? fds)
    {
        Note($"raw {bytes.Length} bytes fds {fds?.Length ?? 0}: {Convert.ToHexString(bytes, 0, Math.Min(bytes.Length, 48))}");
        _conn!.Send(bytes, fds ?? []);
        Messages++;
        Drain();
    }

    /// <summary>Reads and drops whatever the back end answered so far (its replies must never back up).</summary>
    private void Drain()
    {
        while (_conn!.WaitReadable(0))
        {
            ReadSome();
        }
    }

    /// <summary>Reads what is available and consumes the complete replies in it, counting GET_FEATURES replies.</summary>
    private void ReadSome()
    {
        int n = _conn!.Receive(_rx.AsSpan(_rxFill), _receivedFds);
        CloseReceivedFds();
        if (n <= 0)
        {
            throw new VhostUser.Protocol.VhostUserDisconnectedException("The back end closed the connection.");
        }

        _rxFill += n;
        int at = 0;
        while (_rxFill - at >= HeaderSize)
        {
            uint request = BinaryPrimitives.ReadUInt32LittleEndian(_rx.AsSpan(at));
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(_rx.AsSpan(at + 4));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(_rx.AsSpan(at + 8));
            if (size > MaxPayload)
            {
                throw new InvalidOperationException($"The back end sent a reply with a {size}-byte payload (seed {Seed}).");
            }

            if (_rxFill - at - HeaderSize < (int)size)
            {
                break;
            }

            if (request == 1 && (flags & 4) != 0)
            {
                _featureReplies++;
            }

            at += HeaderSize + (int)size;
        }

        Array.Copy(_rx, at, _rx, 0, _rxFill - at);
        _rxFill -= at;
    }

    private void CloseReceivedFds()
    {
        foreach (FileDescriptor fd in _receivedFds)
        {
            fd.Dispose();
        }

        _receivedFds.Clear();
    }

    private void ClearRing(int q)
    {
        _memory.Fill(_descArea[q], RingArea * 2, 0);
        _memory.Fill(_availArea[q], RingArea, 0);
        _memory.Fill(_usedArea[q], RingArea * 2, 0);
    }

    private void WriteDesc(ulong gpa, ulong address, uint length, ushort flags, ushort next)
    {
        _memory.WriteU64(gpa, address);
        _memory.WriteU32(gpa + 8, length);
        _memory.WriteU16(gpa + 12, flags);
        _memory.WriteU16(gpa + 14, next);
    }

    private FileDescriptor[] RandomFds(int count)
    {
        FileDescriptor[] fds = new FileDescriptor[count];
        for (int i = 0; i < count; i++)
        {
            fds[i] = _pool[_r.Next(_pool.Count)];
        }

        return fds;
    }

    private ulong Maybe(double p, ulong value, Func<ulong> mutated) => _r.NextDouble() < p ? mutated() : value;

    private ulong Pick(ulong[] values) => values[_r.Next(values.Length)];

    private ulong RandomU64() => ((ulong)(uint)_r.Next() << 33) ^ ((ulong)(uint)_r.Next() << 2) ^ (ulong)_r.Next(4);

    private byte[] RandomBytes(int n)
    {
        byte[] b = new byte[n];
        _r.NextBytes(b);
        return b;
    }

    private static byte[] U64(ulong value)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return b;
    }

    private static byte[] State(uint index, uint num)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, index);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), num);
        return b;
    }

    private void Note(string line)
    {
        _recent.Enqueue(line);
        while (_recent.Count > 60)
        {
            _recent.Dequeue();
        }
    }
}
