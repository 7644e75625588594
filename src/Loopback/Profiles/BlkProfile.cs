// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-blk (spec 5.2): the back end owns the config (capacity, limits, topology); the front end
/// owns <c>num_queues</c>, because it chooses how many queues the device has. Queues: <c>--num-queues</c>,
/// else the back end's (<c>MQ</c>), else one.
/// </summary>
public sealed class BlkProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 2;

    /// <summary><c>VIRTIO_BLK_F_MQ</c>: <c>num_queues</c> is valid.</summary>
    public const int FeatureMq = 12;

    /// <summary><c>VIRTIO_BLK_F_ZONED</c>: the zoned fields follow.</summary>
    public const int FeatureZoned = 17;

    /// <summary><c>VIRTIO_BLK_F_SECURE_ERASE</c>: the secure-erase fields follow.</summary>
    public const int FeatureSecureErase = 23;

    /// <summary><c>struct virtio_blk_config</c> offset of <c>num_queues</c> (le16).</summary>
    public const int NumQueuesOffset = 34;

    /// <summary>The size through <c>write_zeroes_may_unmap</c> and its padding.</summary>
    public const int BaseSize = 60;

    /// <summary>The size with the secure-erase fields.</summary>
    public const int SecureEraseSize = 72;

    /// <summary>The size with the zoned fields (<c>struct virtio_blk_zoned_characteristics</c>).</summary>
    public const int ZonedSize = 96;

    private uint? _queues;

    /// <inheritdoc/>
    public override string Name => "blk";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <summary>128: what our vhost-user-blk and QEMU's vhost-user-blk-pci default to.</summary>
    public override uint DefaultQueueSize => 128;

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => BackendConfig.Required;

    /// <inheritdoc/>
    public override IReadOnlyList<ProfileOption> Options { get; } =
    [
        new("--num-queues", "N", "request queues (default: the back end's, with MQ; else 1)"),
    ];

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) =>
        Has(offeredFeatures, FeatureZoned) ? ZonedSize : Has(offeredFeatures, FeatureSecureErase) ? SecureEraseSize : BaseSize;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures)
    {
        if (_queues is { } n)
        {
            if (backendQueues is { } max && max < n)
            {
                throw new InvalidOperationException($"--num-queues {n}: the back end has {max} queues");
            }

            return n;
        }

        return (uint)Math.Clamp(backendQueues ?? 1, 1, 64);
    }

    /// <inheritdoc/>
    public override void WriteFrontendConfig(Span<byte> config, ulong offeredFeatures, uint queueCount)
    {
        // virtio_blk sizes its queues from num_queues: it must name the queues the device has.
        if (Has(offeredFeatures, FeatureMq))
        {
            BinaryPrimitives.WriteUInt16LittleEndian(config[NumQueuesOffset..], (ushort)queueCount);
        }
    }

    /// <inheritdoc/>
    protected override string? Set(string option, string value)
    {
        string? error = ProfileOption.ParseUInt(option, value, 1, 64, out ulong n);
        _queues = (uint)n;
        return error;
    }
}
