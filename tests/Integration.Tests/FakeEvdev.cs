// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Threading;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests;

/// <summary>
/// A fake evdev node behind <see cref="IEvdevDevice"/>: it declares a fixed identity, capabilities
/// and axis ranges, and its "pending input" is a queue the test fills; an eventfd is its poll handle,
/// so the back end's epoll loop wakes up as it would for a real node. LED writes are recorded.
/// </summary>
internal sealed class FakeEvdev : IEvdevDevice
{
    public const ushort BusUsb = 0x03;

    private readonly Lock _lock = new();
    private readonly Queue<InputEvent> _pending = new();
    private readonly List<InputEvent> _written = new();
    private readonly EventFd _ready = EventFd.Create();

    public string Name { get; init; } = "Integration Fake Tablet";

    public string? Uniq { get; init; } = "FAKE-0001";

    public InputDeviceIds Ids { get; init; } = new(BusUsb, 0x1234, 0x5678, 0x0111);

    /// <summary>Property bits (<c>INPUT_PROP_*</c>).</summary>
    public int[] Properties { get; init; } = [1 /* INPUT_PROP_DIRECT */];

    /// <summary>Codes per event type.</summary>
    public Dictionary<int, int[]> Codes { get; init; } = new()
    {
        [0x01] = [30 /* KEY_A */, 0x14a /* BTN_TOUCH */],
        [0x03] = [0 /* ABS_X */, 1 /* ABS_Y */],
        [0x11] = [0 /* LED_NUML */, 1 /* LED_CAPSL */],
    };

    /// <summary>Axis ranges.</summary>
    public Dictionary<int, InputAbsInfo> Axes { get; init; } = new()
    {
        [0] = new InputAbsInfo(0, 0, 32767, 0, 0, 100),
        [1] = new InputAbsInfo(0, -100, 4095, 4, 8, 12),
    };

    public bool Disposed { get; private set; }

    public FileDescriptor? PollHandle => _ready.Handle;

    /// <summary>LED/sound events the back end wrote to the node.</summary>
    public IReadOnlyList<InputEvent> Written
    {
        get
        {
            lock (_lock)
            {
                return _written.ToArray();
            }
        }
    }

    /// <summary>Makes <paramref name="events"/> readable, as if the hardware produced them.</summary>
    public void Push(params InputEvent[] events)
    {
        lock (_lock)
        {
            foreach (InputEvent e in events)
            {
                _pending.Enqueue(e);
            }
        }

        _ready.Signal();
    }

    public int GetName(Span<byte> buffer) => CopyString(Name, buffer);

    public int GetUniq(Span<byte> buffer) => Uniq is null ? -1 : CopyString(Uniq, buffer);

    public InputDeviceIds GetIds() => Ids;

    public int GetPropertyBits(Span<byte> bitmap) => FillBits(Properties, bitmap);

    public int GetEventBits(int eventType, Span<byte> bitmap)
    {
        if (eventType == 0)
        {
            List<int> types = [0];
            types.AddRange(Codes.Keys);
            return FillBits(types.ToArray(), bitmap);
        }

        return FillBits(Codes.TryGetValue(eventType, out int[]? codes) ? codes : [], bitmap);
    }

    public bool TryGetAbsInfo(int axis, out InputAbsInfo info) => Axes.TryGetValue(axis, out info);

    public int GetKeyState(Span<byte> bitmap) => FillBits([], bitmap);

    public int GetSwitchState(Span<byte> bitmap) => FillBits([], bitmap);

    public EvdevReadStatus Read(Span<InputEvent> events, out int count)
    {
        lock (_lock)
        {
            // Consume the readiness first: a Push after this leaves the eventfd set again.
            _ready.TryRead(out _);
            count = 0;
            while (count < events.Length && _pending.TryDequeue(out InputEvent e))
            {
                events[count++] = e;
            }

            if (_pending.Count > 0)
            {
                _ready.Signal();
            }

            return count == 0 ? EvdevReadStatus.WouldBlock : EvdevReadStatus.Ok;
        }
    }

    public int Write(InputEvent inputEvent)
    {
        lock (_lock)
        {
            _written.Add(inputEvent);
        }

        return 0;
    }

    public void Dispose()
    {
        Disposed = true;
        _ready.Dispose();
    }

    private static int CopyString(string value, Span<byte> buffer)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        int n = Math.Min(bytes.Length, buffer.Length);
        bytes.AsSpan(0, n).CopyTo(buffer);
        if (n < buffer.Length)
        {
            buffer[n] = 0;
        }

        return n;
    }

    private static int FillBits(int[] bits, Span<byte> bitmap)
    {
        bitmap.Clear();
        foreach (int bit in bits)
        {
            if (bit / 8 < bitmap.Length)
            {
                bitmap[bit / 8] |= (byte)(1 << (bit % 8));
            }
        }

        return bitmap.Length;
    }
}

/// <summary>Opens the one <see cref="FakeEvdev"/> (again and again: reopening yields the same node).</summary>
internal sealed class FakeEvdevOpener(FakeEvdev device) : IEvdevOpener
{
    public string Path => "/dev/input/fake-integration";

    public int Opens { get; private set; }

    public bool TryOpen([NotNullWhen(true)] out IEvdevDevice? opened, out int errno)
    {
        Opens++;
        opened = device;
        errno = 0;
        return true;
    }
}
