// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Loopback;

/// <summary>What one loopback device is: its type and the sizes the adapter chooses.</summary>
/// <param name="DeviceId">The virtio device ID (4 rng, 2 blk, 18 input, ...).</param>
/// <param name="MaxQueueSize">The largest ring size offered to the driver (a power of two).</param>
/// <param name="PoolSize">The pool size in bytes (a page multiple).</param>
public sealed record LoopbackDeviceOptions(uint DeviceId, uint MaxQueueSize, ulong PoolSize)
{
    /// <summary>virtio-blk.</summary>
    public const uint BlockId = 2;

    /// <summary>virtio-rng.</summary>
    public const uint RngId = 4;

    /// <summary>virtio-input.</summary>
    public const uint InputId = 18;

    /// <summary>The vendor ID the driver sees ("LOOP").</summary>
    public uint VendorId { get; init; } = 0x4c4f4f50;

    /// <summary>
    /// The config space size to fetch from the back end, or null for the device type's default
    /// (rng 0, blk 60 or 72 with secure erase, input 136, others 0).
    /// </summary>
    public uint? ConfigSize { get; init; }

    /// <summary>The queue count when the back end does not offer <c>MQ</c>, or null for the device type's default.</summary>
    public uint? QueueCount { get; init; }

    /// <summary>The default config size of a device type, given the back end's features.</summary>
    public static uint DefaultConfigSize(uint deviceId, ulong features) => deviceId switch
    {
        BlockId => (features & (1UL << 23)) != 0 ? 72u : 60u, // VIRTIO_BLK_F_SECURE_ERASE adds three fields
        InputId => 136u,
        _ => 0u,
    };

    /// <summary>
    /// The default largest ring size of a device type: what our back ends (and QEMU's front ends for
    /// them) use by default. vhost-user-blk refuses more than 128 unless started with a larger
    /// <c>--queue-size</c>, as QEMU's vhost-user-blk-pci also defaults to 128.
    /// </summary>
    public static uint DefaultMaxQueueSize(uint deviceId) => deviceId switch
    {
        BlockId => 128u,
        _ => 256u,
    };

    /// <summary>The default queue count of a device type without <c>MQ</c>.</summary>
    public static uint DefaultQueueCount(uint deviceId) => deviceId switch
    {
        InputId => 2u,
        _ => 1u,
    };
}
