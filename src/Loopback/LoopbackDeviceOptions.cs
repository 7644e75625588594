// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Loopback.Profiles;

namespace VirtioLoopback.Loopback;

/// <summary>What one loopback device is: its type's profile and the sizes the adapter chooses.</summary>
public sealed record LoopbackDeviceOptions
{
    /// <summary>virtio-blk.</summary>
    public const uint BlockId = BlkProfile.Id;

    /// <summary>virtio-rng.</summary>
    public const uint RngId = RngProfile.Id;

    /// <summary>virtio-input.</summary>
    public const uint InputId = InputProfile.Id;

    /// <summary>A device of <paramref name="profile"/>'s type.</summary>
    /// <param name="profile">The device type, with its options set.</param>
    /// <param name="maxQueueSize">The largest ring size offered to the driver (a power of two).</param>
    /// <param name="poolSize">The pool size in bytes (a page multiple).</param>
    public LoopbackDeviceOptions(DeviceProfile profile, uint maxQueueSize, ulong poolSize)
    {
        Profile = profile ?? throw new ArgumentNullException(nameof(profile));
        MaxQueueSize = maxQueueSize;
        PoolSize = poolSize;
    }

    /// <summary>A device of type <paramref name="deviceId"/> with that type's profile and no options.</summary>
    public LoopbackDeviceOptions(uint deviceId, uint maxQueueSize, ulong poolSize)
        : this(DeviceProfiles.ForId(deviceId), maxQueueSize, poolSize)
    {
    }

    /// <summary>The device type: config layout, queue rules, features.</summary>
    public DeviceProfile Profile { get; }

    /// <summary>The virtio device ID (4 rng, 2 blk, 18 input, ...).</summary>
    public uint DeviceId => Profile.DeviceId;

    /// <summary>The largest ring size offered to the driver (a power of two).</summary>
    public uint MaxQueueSize { get; }

    /// <summary>The pool size in bytes (a page multiple).</summary>
    public ulong PoolSize { get; }

    /// <summary>The vendor ID the driver sees ("LOOP").</summary>
    public uint VendorId { get; init; } = 0x4c4f4f50;
}
