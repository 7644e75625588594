// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.IO;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Sound;

/// <summary>The control queue: information queries and the PCM command lifecycle.</summary>
public sealed partial class SoundLogic
{
    /// <summary>Requests one call answers at most before it yields its thread (and the device's lock).</summary>
    private const int RequestsPerTurn = 64;

    // HDA pin configuration defaults (HDA spec 7.3.3.31): a rear 1/8" jack, green line out or pink mic.
    private const uint DefconfLineOut = (0x01u << 24) | (0x0u << 20) | (0x1u << 16) | (0x4u << 12) | (0x1u << 4);
    private const uint DefconfMicIn = (0x01u << 24) | (0xAu << 20) | (0x1u << 16) | (0x9u << 12) | (0x2u << 4);

    // HDA pin capabilities (HDA spec 7.3.4.9): presence detect, output or input capable.
    private const uint CapsOutput = (1u << 2) | (1u << 4);
    private const uint CapsInput = (1u << 2) | (1u << 5);

    private void ServiceControl(IVirtqueue queue, DescriptorChain chain)
    {
        GuestMemoryMap memory = queue.Memory;
        Span<byte> request = stackalloc byte[SoundWire.SetParamsSize];
        bool pushed = false;
        queue.DisableNotification();
        for (int turn = 0; ; turn++)
        {
            if (turn == RequestsPerTurn)
            {
                Wake(SoundWire.ControlQueue);
                break;
            }

            PopResult popped = queue.PopNextInBatch(chain);
            if (popped != PopResult.Popped)
            {
                break;
            }

            int length = ChainBytes.Gather(memory, chain.Readable, request);
            if (length < 0)
            {
                queue.MarkBroken("sound: control request outside guest memory");
                return;
            }

            int room = (int)Math.Min(chain.WritableLength, (uint)_response.Length);
            int written = room < SoundWire.HeaderSize ? 0 : Answer(memory, request[..length], chain.ReadableLength, _response.AsSpan(0, room));
            if (written == 0)
            {
                Bad("response buffer shorter than a status", 0);
            }
            else if (ChainBytes.Scatter(memory, chain.Writable, _response.AsSpan(0, written)) < 0)
            {
                queue.MarkBroken("sound: control response outside guest memory");
                return;
            }

            queue.PushUsed(chain.Head, (uint)written);
            pushed = true;
        }

        if (pushed)
        {
            queue.NotifyIfNeeded();
        }
    }

    /// <summary>Answers one request into <paramref name="response"/> (at least a status header).</summary>
    /// <returns>The response bytes.</returns>
    private int Answer(GuestMemoryMap memory, ReadOnlySpan<byte> request, uint requestLength, Span<byte> response)
    {
        uint status;
        int length = SoundWire.HeaderSize;
        if (request.Length < SoundWire.HeaderSize)
        {
            status = Bad("request shorter than its code", requestLength);
        }
        else
        {
            uint code = BinaryPrimitives.ReadUInt32LittleEndian(request);
            status = code switch
            {
                SoundWire.JackInfo or SoundWire.PcmInfo or SoundWire.ChmapInfo => Query(code, request, requestLength, response, out length),
                SoundWire.JackRemap => JackRemap(request, requestLength),
                SoundWire.PcmSetParams => SetParams(request, requestLength),
                SoundWire.PcmPrepare or SoundWire.PcmRelease or SoundWire.PcmStart or SoundWire.PcmStop => Command(memory, code, request, requestLength),
                _ => NotSupported(code),
            };
        }

        if (status != SoundWire.StatusOk)
        {
            length = SoundWire.HeaderSize;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(response, status);
        return length;
    }

    /// <summary>JACK_INFO, PCM_INFO, CHMAP_INFO: <c>count</c> items of <c>size</c> bytes from <c>start_id</c>.</summary>
    private uint Query(uint code, ReadOnlySpan<byte> request, uint requestLength, Span<byte> response, out int length)
    {
        length = SoundWire.HeaderSize;
        if (requestLength != SoundWire.QueryInfoSize || request.Length < SoundWire.QueryInfoSize)
        {
            return Bad("info query of the wrong size", requestLength);
        }

        uint start = BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(request[8..]);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(request[12..]);
        (int items, int itemSize) = code switch
        {
            SoundWire.JackInfo => (JackCount, SoundWire.JackInfoSize),
            SoundWire.PcmInfo => (_streams.Length, SoundWire.PcmInfoSize),
            _ => (_chmaps.Count, SoundWire.ChmapInfoSize),
        };
        if ((ulong)start + count > (ulong)items || size < itemSize)
        {
            return Bad("info query beyond the items or with a short item size", requestLength);
        }

        ulong needed = SoundWire.HeaderSize + ((ulong)count * size);
        if (needed > (ulong)response.Length)
        {
            return Bad("info query larger than its response buffer", requestLength);
        }

        Span<byte> items0 = response[SoundWire.HeaderSize..(int)needed];
        items0.Clear();
        for (int i = 0; i < (int)count; i++)
        {
            Span<byte> item = items0.Slice(i * (int)size, itemSize);
            int id = (int)start + i;
            BinaryPrimitives.WriteUInt32LittleEndian(item, SoundWire.FunctionNode);
            switch (code)
            {
                case SoundWire.JackInfo:
                    bool output = _streams[id].Direction == SoundWire.DirectionOutput;
                    BinaryPrimitives.WriteUInt32LittleEndian(item[8..], output ? DefconfLineOut : DefconfMicIn);
                    BinaryPrimitives.WriteUInt32LittleEndian(item[12..], output ? CapsOutput : CapsInput);
                    item[16] = 1; // connected
                    break;
                case SoundWire.PcmInfo:
                    PcmStream s = _streams[id];
                    BinaryPrimitives.WriteUInt64LittleEndian(item[8..], s.Endpoint.Formats);
                    BinaryPrimitives.WriteUInt64LittleEndian(item[16..], s.Endpoint.Rates);
                    item[24] = s.Direction;
                    item[25] = s.Endpoint.ChannelsMin;
                    item[26] = s.Endpoint.ChannelsMax;
                    break;
                default:
                    (byte direction, byte[] positions) = _chmaps[id];
                    item[4] = direction;
                    item[5] = (byte)positions.Length;
                    positions.CopyTo(item[6..]);
                    break;
            }
        }

        length = (int)needed;
        return SoundWire.StatusOk;
    }

    private uint JackRemap(ReadOnlySpan<byte> request, uint requestLength)
    {
        // No jack offers VIRTIO_SND_JACK_F_REMAP.
        if (request.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(request[4..]) >= (uint)JackCount)
        {
            return Bad("JACK_REMAP of a jack that does not exist", requestLength);
        }

        return SoundWire.StatusNotSupported;
    }

    private uint SetParams(ReadOnlySpan<byte> request, uint requestLength)
    {
        if (requestLength != SoundWire.SetParamsSize || request.Length < SoundWire.SetParamsSize)
        {
            return Bad("SET_PARAMS of the wrong size", requestLength);
        }

        if (StreamOf(request) is not { } s)
        {
            return Bad("SET_PARAMS of a stream that does not exist", requestLength);
        }

        if (s.State is PcmState.Running or PcmState.Stopped)
        {
            return Bad("SET_PARAMS while the stream runs", requestLength);
        }

        PcmParams p = new(
            Format: request[21],
            Rate: request[22],
            Channels: request[20],
            BufferBytes: BinaryPrimitives.ReadUInt32LittleEndian(request[8..]),
            PeriodBytes: BinaryPrimitives.ReadUInt32LittleEndian(request[12..]));
        uint features = BinaryPrimitives.ReadUInt32LittleEndian(request[16..]);
        if (features != 0)
        {
            // No stream offers any PCM feature.
            return Bad("SET_PARAMS with features the stream does not offer", requestLength);
        }

        if (!s.Supports(p))
        {
            Log.ParamsRefused(_logger, s.Id, p);
            return SoundWire.StatusNotSupported;
        }

        int frame = p.FrameBytes;
        if (p.PeriodBytes == 0 || p.PeriodBytes % frame != 0 || p.BufferBytes < p.PeriodBytes ||
            p.BufferBytes % frame != 0 || p.BufferBytes > MaxBufferBytes)
        {
            return Bad("SET_PARAMS with a period or buffer that is not whole frames within limits", requestLength);
        }

        if (s.Held.Count > 0)
        {
            // Messages taken under the old parameters go back before any under the new ones.
            s.ReturnPending = true;
            Wake(s.DataQueue);
        }

        s.Params = p;
        s.State = PcmState.ParamsSet;
        Log.ParamsSet(_logger, s.Id, p);
        return SoundWire.StatusOk;
    }

    private uint Command(GuestMemoryMap memory, uint code, ReadOnlySpan<byte> request, uint requestLength)
    {
        if (requestLength != SoundWire.PcmHeaderSize || request.Length < SoundWire.PcmHeaderSize)
        {
            return Bad("PCM command of the wrong size", requestLength);
        }

        if (StreamOf(request) is not { } s)
        {
            return Bad("PCM command for a stream that does not exist", requestLength);
        }

        switch (code)
        {
            case SoundWire.PcmPrepare when s.State is PcmState.ParamsSet or PcmState.Prepared or PcmState.Released:
                try
                {
                    s.Endpoint.Begin(s.Params);
                    s.Failed = false;
                }
                catch (IOException e)
                {
                    Log.EndpointFailed(_logger, s.Id, e.Message);
                    return SoundWire.StatusIoError;
                }

                s.Completed = 0;
                s.Transferred = 0;
                s.MaxLateBytes = 0;
                s.StartedAt = 0;
                s.Xruns = 0;
                s.XrunBytes = 0;
                s.State = PcmState.Prepared;
                return SoundWire.StatusOk;
            case SoundWire.PcmStart when s.State is PcmState.Prepared or PcmState.Stopped:
                if (s.StartedAt == 0)
                {
                    s.StartedAt = _time.GetTimestamp();
                }

                s.Endpoint.Start();
                s.State = PcmState.Running;
                break;
            case SoundWire.PcmStop when s.State is PcmState.Running:
                // What the clock reached before the stop is played (one guest memory serves every
                // queue); frames handed over but not yet played are dropped, the held messages keep them.
                try
                {
                    Transfer(s, memory);
                }
                catch (IOException e)
                {
                    Fail(s, e);
                }

                s.Transferred = Math.Clamp(s.Endpoint.Stop(), s.Completed, s.Transferred);
                s.State = PcmState.Stopped;
                break;
            case SoundWire.PcmRelease when s.State is PcmState.Prepared or PcmState.Stopped:
                EndSession(s);
                s.ReturnPending = true;
                s.State = PcmState.Released;
                break;
            default:
                return Bad("PCM command not allowed in the stream's state", requestLength);
        }

        Wake(s.DataQueue);
        return SoundWire.StatusOk;
    }

    /// <summary>The stream a PCM request names, or null.</summary>
    private PcmStream? StreamOf(ReadOnlySpan<byte> request)
    {
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
        return id < (uint)_streams.Length ? _streams[id] : null;
    }

    private uint NotSupported(uint code)
    {
        Log.UnknownRequest(_logger, code);
        return SoundWire.StatusNotSupported;
    }

    /// <summary>Counts and logs a malformed request; the answer is VIRTIO_SND_S_BAD_MSG.</summary>
    private uint Bad(string what, uint requestLength)
    {
        _badRequests++;
        if (_badRequests == 1)
        {
            Log.BadRequestFirst(_logger, what, requestLength);
        }
        else
        {
            Log.BadRequest(_logger, what, requestLength, _badRequests);
        }

        return SoundWire.StatusBadMsg;
    }
}
