// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Tests.Input;

/// <summary>
/// A real split queue over test guest memory, driven from the driver side by <see cref="DriverQueue"/>:
/// what the device logic sees through <see cref="IVirtqueue"/>, shared by the rng and input tests.
/// </summary>
internal sealed class QueueHarness : IVirtqueue, IDisposable
{
    private readonly bool _ownsGuest;

    /// <param name="size">The queue size.</param>
    /// <param name="eventIdx">Whether VIRTIO_F_EVENT_IDX is in use.</param>
    /// <param name="guest">Guest memory shared with other queues of one device (the caller disposes it); a private 1 MiB otherwise.</param>
    public QueueHarness(ushort size = 16, bool eventIdx = false, TestGuestMemory? guest = null)
    {
        _ownsGuest = guest is null;
        Guest = guest ?? new TestGuestMemory(1 << 20);
        Driver = new DriverQueue(Guest, size) { EventIdx = eventIdx };
        Queue = new SplitQueue { Memory = Guest.Map, EventIdx = eventIdx };
        if (!Queue.TryConfigure(size, Driver.DescTable, Driver.AvailRing, Driver.UsedRing, out string? error))
        {
            throw new InvalidOperationException(error);
        }

        Chain = new DescriptorChain(size);
    }

    public TestGuestMemory Guest { get; }

    public DriverQueue Driver { get; }

    public SplitQueue Queue { get; }

    /// <summary>A chain sized for the queue, as <c>Vring.CreateChain</c> makes one.</summary>
    public DescriptorChain Chain { get; }

    /// <summary>How often the device decided to interrupt the driver.</summary>
    public int Notifications { get; private set; }

    public int Index { get; init; }

    public ushort Size => Queue.Size;

    /// <summary>The fds the device registered, by token (the test signals and delivers them itself).</summary>
    public FakeQueueEvents Registered { get; } = new();

    public IQueueEvents Events => Registered;

    public DescriptorChain CreateChain() => new(Size);

    public GuestMemoryMap Memory => Queue.Memory;

    public bool IsBroken => Queue.IsBroken;

    /// <summary>Whether the front end enabled the ring (tests may disable it).</summary>
    public bool IsEnabled { get; set; } = true;

    /// <summary>Allocates a device-writable buffer of <paramref name="length"/> bytes filled with <paramref name="fill"/>.</summary>
    public DriverBuffer Writable(uint length, byte fill = 0xEE)
    {
        ulong gpa = Guest.Alloc(length, 8);
        Guest.GetSpan(gpa, (int)length).Fill(fill);
        return DriverBuffer.DeviceWritable(gpa, length);
    }

    /// <summary>Allocates a device-readable buffer holding <paramref name="data"/>.</summary>
    public DriverBuffer Readable(ReadOnlySpan<byte> data) => DriverBuffer.DeviceReadable(Guest.AllocBytes(data, 8), (uint)data.Length);

    public Span<byte> Bytes(DriverBuffer buffer) => Guest.GetSpan(buffer.Gpa, (int)buffer.Length);

    public PopResult TryPop(DescriptorChain chain) => Queue.TryPop(chain);

    public void PushUsed(ushort head, uint written) => Queue.PushUsed(head, written);

    public void NotifyIfNeeded()
    {
        if (Queue.NeedsNotification())
        {
            Notifications++;
        }
    }

    public bool EnableNotification() => Queue.EnableNotification();

    public void DisableNotification() => Queue.DisableNotification();

    public void MarkBroken(string reason) => Queue.MarkBroken(reason);

    /// <summary>Takes every used element the device published.</summary>
    public (ushort Id, uint Length)[] TakeUsed()
    {
        System.Collections.Generic.List<(ushort, uint)> used = new();
        while (Driver.TryGetUsed(out ushort id, out uint length))
        {
            used.Add((id, length));
        }

        return used.ToArray();
    }

    public void Dispose()
    {
        if (_ownsGuest)
        {
            Guest.Dispose();
        }
    }
}

/// <summary>Records what a device registers on its queue's thread.</summary>
internal sealed class FakeQueueEvents : IQueueEvents
{
    public System.Collections.Generic.Dictionary<ulong, Sys.FileDescriptor> Fds { get; } = new();

    public void Add(Sys.FileDescriptor fd, ulong token, Sys.EpollEvents events = Sys.EpollEvents.In) => Fds[token] = fd;

    public void Remove(Sys.FileDescriptor fd)
    {
        foreach (var pair in Fds)
        {
            if (pair.Value == fd)
            {
                Fds.Remove(pair.Key);
                return;
            }
        }
    }
}
