// SPDX-License-Identifier: MIT
using System;
using System.Numerics;
using VirtioLoopback.GuestMemory;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// The device side of one split virtqueue (virtio 1.x §2.7): pops validated descriptor chains from
/// the available ring, pushes used elements, and decides about notifications in both directions.
/// </summary>
/// <remarks>
/// <para>
/// All ring contents are written by the driver and treated as hostile. Any violation marks the
/// queue broken (<see cref="IsBroken"/>, <see cref="BrokenReason"/>): <see cref="TryPop"/> then
/// returns <see cref="PopResult.Broken"/> and the other operations do nothing until
/// <see cref="Reset"/> or <see cref="TryConfigure"/>. Nothing guest-controlled makes a member throw.
/// </para>
/// <para>
/// Threading: a queue belongs to one worker thread. Configuration (<see cref="TryConfigure"/>,
/// <see cref="Memory"/>, the indices, the feature flags, <see cref="Reset"/>) may happen on another
/// thread only while that worker is not processing the queue.
/// </para>
/// </remarks>
public sealed partial class SplitQueue
{
    private GuestMemoryMap _memory = GuestMemoryMap.Empty;
    private ushort _nextAvail;
    private ushort _nextUsed;

    // The avail idx last read from the ring; entries between _nextAvail and it are known to exist.
    private ushort _shadowAvailIdx;

    // EVENT_IDX: the used idx at the last notification decision (vhost's signalled_used).
    private ushort _signalledUsed;
    private bool _signalledUsedValid;

    // Whether the device wants kicks (EnableNotification) or not (DisableNotification).
    private bool _notificationsEnabled = true;

    // The used ring's flags as the device last wrote them.
    private ushort _usedFlags;

    private int _inFlight;

    /// <summary>The queue size (number of descriptors); 0 until configured.</summary>
    public ushort Size { get; private set; }

    /// <summary>The guest physical address of the descriptor table.</summary>
    public ulong DescTable { get; private set; }

    /// <summary>The guest physical address of the available (driver) ring.</summary>
    public ulong AvailRing { get; private set; }

    /// <summary>The guest physical address of the used (device) ring.</summary>
    public ulong UsedRing { get; private set; }

    /// <summary>Whether <see cref="TryConfigure"/> succeeded since the last <see cref="Reset"/>.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Whether <c>VIRTIO_RING_F_EVENT_IDX</c> was negotiated.</summary>
    public bool EventIdx { get; set; }

    /// <summary>Whether <c>VIRTIO_RING_F_INDIRECT_DESC</c> was negotiated (indirect tables are accepted).</summary>
    public bool IndirectEnabled { get; set; }

    /// <summary>Whether <c>VIRTIO_F_NOTIFY_ON_EMPTY</c> was negotiated.</summary>
    public bool NotifyOnEmpty { get; set; }

    /// <summary>
    /// The guest memory the rings and buffers live in. Replace it only while the queue is not being
    /// processed; chains popped earlier stay valid only while their regions remain mapped.
    /// </summary>
    public GuestMemoryMap Memory
    {
        get => _memory;
        set => _memory = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// The index of the next available-ring entry to pop (<c>last_avail_idx</c>, the vring base of
    /// <c>SET_VRING_BASE</c>/<c>GET_VRING_BASE</c>). Free-running modulo 2^16.
    /// </summary>
    public ushort NextAvail
    {
        get => _nextAvail;
        set
        {
            _nextAvail = value;
            _shadowAvailIdx = value;
        }
    }

    /// <summary>The index the next used element gets (the used ring's <c>idx</c> as the device publishes it).</summary>
    public ushort NextUsed
    {
        get => _nextUsed;
        set
        {
            _nextUsed = value;
            _signalledUsedValid = false;
        }
    }

    /// <summary>Chains popped (or loaded) but not pushed back yet.</summary>
    public int InFlight => _inFlight;

    /// <summary>Whether the queue is broken; see <see cref="BrokenReason"/>.</summary>
    public bool IsBroken => BrokenReason is not null;

    /// <summary>Why the queue is broken (the first violation seen), or null.</summary>
    public string? BrokenReason { get; private set; }

    /// <summary>Sets <see cref="EventIdx"/>, <see cref="IndirectEnabled"/> and <see cref="NotifyOnEmpty"/> from negotiated features.</summary>
    public void SetFeatures(ulong negotiated)
    {
        EventIdx = (negotiated & VirtioFeatures.RingEventIdx) != 0;
        IndirectEnabled = (negotiated & VirtioFeatures.RingIndirectDesc) != 0;
        NotifyOnEmpty = (negotiated & VirtioFeatures.NotifyOnEmpty) != 0;
    }

    /// <summary>
    /// Sets the queue's size and ring addresses after checking them: the size is a power of two up
    /// to 32768, the areas are aligned (16, 2, 4) and each lies inside one region of <see cref="Memory"/>.
    /// On success the queue is ready and no longer broken, <see cref="NextUsed"/> is read from the used
    /// ring (so a reconnecting back end continues where its predecessor stopped), and the used ring's
    /// notification suppression is reset so the driver kicks. <see cref="NextAvail"/> is kept.
    /// </summary>
    /// <returns>False with a description in <paramref name="error"/> when a check fails (nothing changes then).</returns>
    public bool TryConfigure(ushort size, ulong descTable, ulong availRing, ulong usedRing, out string? error)
    {
        error = CheckLayout(size, descTable, availRing, usedRing);
        if (error is not null)
        {
            return false;
        }

        Size = size;
        DescTable = descTable;
        AvailRing = availRing;
        UsedRing = usedRing;
        BrokenReason = null;
        IsReady = true;
        _inFlight = 0;
        _shadowAvailIdx = _nextAvail;
        _memory.TryReadU16(usedRing + SplitRing.UsedIdxOffset, out ushort usedIdx);
        NextUsed = usedIdx;

        // Start with notifications on: a predecessor may have left VRING_USED_F_NO_NOTIFY set or a
        // stale avail_event behind (as vhost's vhost_init_used rewrites the used flags).
        _notificationsEnabled = true;
        _usedFlags = 0;
        _memory.TryWriteU16(usedRing, _usedFlags);
        if (EventIdx)
        {
            _memory.TryWriteU16(usedRing + (ulong)SplitRing.AvailEventOffset(size), _nextAvail);
        }

        return true;
    }

    /// <summary>
    /// Forgets the ring: not ready, not broken, size and addresses and indices zero, notifications
    /// enabled. <see cref="Memory"/> and the feature flags are kept.
    /// </summary>
    public void Reset()
    {
        Size = 0;
        DescTable = 0;
        AvailRing = 0;
        UsedRing = 0;
        IsReady = false;
        BrokenReason = null;
        NextAvail = 0;
        NextUsed = 0;
        _signalledUsed = 0;
        _notificationsEnabled = true;
        _usedFlags = 0;
        _inFlight = 0;
    }

    /// <summary>Marks the queue broken; the first reason is kept.</summary>
    public void MarkBroken(string reason)
    {
        BrokenReason ??= reason ?? "broken";
    }

    private string? CheckLayout(ushort size, ulong descTable, ulong availRing, ulong usedRing)
    {
        if (size == 0 || size > SplitRing.MaxSize || !BitOperations.IsPow2((uint)size))
        {
            return $"queue size {size} is not a power of two between 1 and {SplitRing.MaxSize}";
        }

        if (descTable % SplitRing.DescriptorTableAlignment != 0)
        {
            return $"descriptor table 0x{descTable:x} is not {SplitRing.DescriptorTableAlignment}-byte aligned";
        }

        if (availRing % SplitRing.AvailRingAlignment != 0)
        {
            return $"available ring 0x{availRing:x} is not {SplitRing.AvailRingAlignment}-byte aligned";
        }

        if (usedRing % SplitRing.UsedRingAlignment != 0)
        {
            return $"used ring 0x{usedRing:x} is not {SplitRing.UsedRingAlignment}-byte aligned";
        }

        return CheckArea("descriptor table", descTable, SplitRing.DescriptorTableBytes(size))
            ?? CheckArea("available ring", availRing, SplitRing.AvailRingBytes(size))
            ?? CheckArea("used ring", usedRing, SplitRing.UsedRingBytes(size));
    }

    private string? CheckArea(string name, ulong gpa, ulong length) =>
        _memory.ContainsRange(gpa, length)
            ? null
            : $"{name} 0x{gpa:x}+0x{length:x} is not inside one guest memory region";

    private PopResult Fail(string reason)
    {
        MarkBroken(reason);
        return PopResult.Broken;
    }

    private bool Broken(string reason)
    {
        MarkBroken(reason);
        return false;
    }
}
