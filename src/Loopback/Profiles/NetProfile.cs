// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-net (spec 5.1) without a control queue. The front end owns the config, as QEMU's
/// virtio-net model does for a vhost-user back end (DPDK provides none): <c>mac</c> (with
/// <c>--mac</c>), <c>status</c> (link up), <c>max_virtqueue_pairs</c> and <c>mtu</c> (with
/// <c>--mtu</c>). The back end owns the offloads and the header layout.
/// </summary>
/// <remarks>
/// <para>QEMU never hands the control queue to a vhost-user back end; its own model answers it. The
/// adapter does not: the control queue and everything that needs it (<see cref="ControlQueueFeatures"/>)
/// are withheld, as the module withholds them too. virtio_net waits for control commands with rtnl
/// held, spinning, so a back end that never answers them would stall the kernel.</para>
/// <para>Queues: without <c>CTRL_VQ</c> there is no <c>MQ</c>, so the driver uses one receive/transmit
/// pair whatever the back end's <c>MQ</c> count (queue pairs, for net); the device has those two
/// queues.</para>
/// </remarks>
public sealed class NetProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 1;

    /// <summary><c>VIRTIO_NET_F_MTU</c>: <c>mtu</c> is valid.</summary>
    public const int FeatureMtu = 3;

    /// <summary><c>VIRTIO_NET_F_MAC</c>: <c>mac</c> is valid.</summary>
    public const int FeatureMac = 5;

    /// <summary><c>VIRTIO_NET_F_STATUS</c>: <c>status</c> is valid.</summary>
    public const int FeatureStatus = 16;

    /// <summary><c>VIRTIO_NET_F_CTRL_VQ</c>.</summary>
    public const int FeatureCtrlVq = 17;

    /// <summary><c>VIRTIO_NET_F_STANDBY</c>: failover with a passthrough device, a hypervisor's business.</summary>
    public const int FeatureStandby = 62;

    /// <summary><c>VIRTIO_NET_F_SPEED_DUPLEX</c>: <c>speed</c> and <c>duplex</c> are valid (not filled here).</summary>
    public const int FeatureSpeedDuplex = 63;

    /// <summary>
    /// The control queue and the features that need it (spec 5.1.3.1, virtnet_validate_features()):
    /// CTRL_GUEST_OFFLOADS 2, CTRL_VQ 17, CTRL_RX 18, CTRL_VLAN 19, CTRL_RX_EXTRA 20, GUEST_ANNOUNCE 21,
    /// MQ 22, CTRL_MAC_ADDR 23, DEVICE_STATS 50, VQ_NOTF_COAL 52, NOTF_COAL 53, HASH_REPORT 57, RSS 60.
    /// </summary>
    public const ulong ControlQueueFeatures =
        (1UL << 2) | (0x7FUL << 17) | (1UL << 50) | (1UL << 52) | (1UL << 53) | (1UL << 57) | (1UL << 60);

    /// <summary><c>VIRTIO_NET_S_LINK_UP</c>.</summary>
    public const ushort StatusLinkUp = 1;

    /// <summary><c>struct virtio_net_config</c> offset of <c>status</c> (le16).</summary>
    public const int StatusOffset = 6;

    /// <summary><c>struct virtio_net_config</c> offset of <c>max_virtqueue_pairs</c> (le16).</summary>
    public const int MaxVirtqueuePairsOffset = 8;

    /// <summary><c>struct virtio_net_config</c> offset of <c>mtu</c> (le16).</summary>
    public const int MtuOffset = 10;

    /// <summary>The config through <c>mtu</c>: the later fields need SPEED_DUPLEX, RSS or HASH_REPORT, none offered.</summary>
    public const int Size = 12;

    private readonly byte[] _mac = new byte[MacAddress.Length];
    private bool _hasMac;
    private ushort? _mtu;

    /// <inheritdoc/>
    public override string Name => "net";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override IReadOnlyList<ProfileOption> Options { get; } =
    [
        new("--mac", "MAC", "the interface's unicast address (default: the driver picks a random one)"),
        new("--mtu", "N", "the largest MTU the driver may set, 68 to 65535 (needs the back end's VIRTIO_NET_F_MTU)"),
    ];

    /// <inheritdoc/>
    public override ulong OfferedFeatures(ulong backendFeatures, bool backendHasConfig)
    {
        if (_mtu is not null && !Has(backendFeatures, FeatureMtu))
        {
            throw new InvalidOperationException("--mtu: the back end does not offer VIRTIO_NET_F_MTU");
        }

        ulong features = backendFeatures & ~(ControlQueueFeatures | (1UL << FeatureStandby) | (1UL << FeatureSpeedDuplex)
            | (1UL << FeatureMac) | (1UL << FeatureMtu) | (1UL << FeatureStatus));
        features |= 1UL << FeatureStatus;
        if (_hasMac)
        {
            features |= 1UL << FeatureMac;
        }

        if (_mtu is not null)
        {
            features |= 1UL << FeatureMtu;
        }

        return features;
    }

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => Size;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures)
    {
        if (backendQueues is 0)
        {
            throw new InvalidOperationException("device net needs one queue pair; the back end has none");
        }

        return 2;
    }

    /// <inheritdoc/>
    public override void WriteFrontendConfig(Span<byte> config, ulong offeredFeatures, uint queueCount)
    {
        config[..Size].Clear();
        if (_hasMac)
        {
            _mac.CopyTo(config);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(config[StatusOffset..], StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(config[MaxVirtqueuePairsOffset..], (ushort)(queueCount / 2));
        BinaryPrimitives.WriteUInt16LittleEndian(config[MtuOffset..], _mtu ?? 0);
    }

    /// <inheritdoc/>
    protected override string? Set(string option, string value)
    {
        if (option == "--mac")
        {
            string? error = MacAddress.TryParse(value, _mac);
            _hasMac = error is null;
            return error;
        }

        string? mtuError = ProfileOption.ParseUInt(option, value, 68, 65535, out ulong mtu);
        _mtu = mtuError is null ? (ushort)mtu : null;
        return mtuError;
    }
}
