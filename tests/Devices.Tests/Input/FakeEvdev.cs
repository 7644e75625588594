// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using VirtioLoopback.Devices.Input;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Tests.Input;

/// <summary>An evdev node in memory: capabilities, state, pending events, and what was written to it.</summary>
internal sealed class FakeEvdev : IEvdevDevice
{
    private readonly Dictionary<int, SortedSet<int>> _bits = new();

    public string Name { get; set; } = "Fake Keyboard";

    public string? Uniq { get; set; }

    public InputDeviceIds Ids { get; set; } = new(0x0003, 0x046d, 0xc31c, 0x0110);

    public SortedSet<int> Properties { get; } = new();

    public Dictionary<int, InputAbsInfo> Abs { get; } = new();

    public SortedSet<int> KeysDown { get; } = new();

    public Queue<InputEvent> Pending { get; } = new();

    public List<InputEvent> Written { get; } = new();

    public bool Gone { get; set; }

    public bool Disposed { get; private set; }

    public FileDescriptor? PollHandle => null;

    /// <summary>Declares support for <paramref name="codes"/> of <paramref name="type"/>.</summary>
    public FakeEvdev With(int type, params int[] codes)
    {
        if (!_bits.TryGetValue(type, out SortedSet<int>? set))
        {
            _bits[type] = set = new SortedSet<int>();
        }

        set.UnionWith(codes);
        return this;
    }

    public void Queue(params InputEvent[] events)
    {
        foreach (InputEvent e in events)
        {
            Pending.Enqueue(e);
        }
    }

    public int GetName(Span<byte> buffer) => CopyString(Name, buffer);

    public int GetUniq(Span<byte> buffer) => Uniq is null ? -1 : CopyString(Uniq, buffer);

    public InputDeviceIds GetIds() => Ids;

    public int GetPropertyBits(Span<byte> bitmap) => Fill(Properties, bitmap, 4);

    public int GetEventBits(int eventType, Span<byte> bitmap)
    {
        if (eventType == 0)
        {
            SortedSet<int> types = new(_bits.Keys) { 0 };
            return Fill(types, bitmap, 8);
        }

        // evdev has no bitmap for EV_REP (EINVAL), like the kernel.
        if (eventType == InputEventCodes.EvRep || !_bits.TryGetValue(eventType, out SortedSet<int>? set))
        {
            return -1;
        }

        // The kernel copies whole longs of the type's maximum, zero-padded.
        return Fill(set, bitmap, eventType == InputEventCodes.EvKey ? 96 : 8);
    }

    public bool TryGetAbsInfo(int axis, out InputAbsInfo info) => Abs.TryGetValue(axis, out info);

    public int GetKeyState(Span<byte> bitmap) => Fill(KeysDown, bitmap, 96);

    public int GetSwitchState(Span<byte> bitmap)
    {
        bitmap.Clear();
        return Math.Min(bitmap.Length, 8);
    }

    public EvdevReadStatus Read(Span<InputEvent> events, out int count)
    {
        count = 0;
        if (Gone)
        {
            return EvdevReadStatus.Gone;
        }

        while (count < events.Length && Pending.TryDequeue(out InputEvent e))
        {
            events[count++] = e;
        }

        return count > 0 ? EvdevReadStatus.Ok : EvdevReadStatus.WouldBlock;
    }

    public int Write(InputEvent inputEvent)
    {
        if (Gone)
        {
            return 19;
        }

        Written.Add(inputEvent);
        return 0;
    }

    public void Dispose() => Disposed = true;

    private static int CopyString(string value, Span<byte> buffer)
    {
        buffer.Clear();
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        int n = Math.Min(utf8.Length, buffer.Length);
        utf8.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    private static int Fill(IEnumerable<int> bits, Span<byte> bitmap, int kernelBytes)
    {
        bitmap.Clear();
        foreach (int bit in bits)
        {
            if (bit / 8 < bitmap.Length)
            {
                bitmap[bit / 8] |= (byte)(1 << (bit % 8));
            }
        }

        return Math.Min(bitmap.Length, kernelBytes);
    }
}

/// <summary>Opens whatever device the test queued next, or fails with ENOENT.</summary>
internal sealed class FakeOpener : IEvdevOpener
{
    public Queue<FakeEvdev?> Next { get; } = new();

    public int Attempts { get; private set; }

    public string Path => "/dev/input/event-fake";

    public bool TryOpen([NotNullWhen(true)] out IEvdevDevice? device, out int errno)
    {
        Attempts++;
        if (Next.TryDequeue(out FakeEvdev? d) && d is not null)
        {
            device = d;
            errno = 0;
            return true;
        }

        device = null;
        errno = 2;
        return false;
    }
}

/// <summary>Records what the device asked of the worker.</summary>
internal sealed class FakeWorker : IEventWorker
{
    public List<IEvdevDevice> Watched { get; } = new();

    public int RetryArms { get; private set; }

    public bool RetryArmed { get; private set; }

    public void Watch(IEvdevDevice device) => Watched.Add(device);

    public void Unwatch(IEvdevDevice device) => Watched.Remove(device);

    public void ArmRetry(TimeSpan period)
    {
        RetryArms++;
        RetryArmed = true;
    }

    public void DisarmRetry() => RetryArmed = false;
}
