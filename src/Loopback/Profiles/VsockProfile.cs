// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-vsock (spec 5.10): the config is <c>le64 guest_cid</c>. <c>--guest-cid</c> makes it the
/// front end's (as QEMU's vhost-vsock <c>guest-cid=</c>); without it the back end must provide it
/// (as QEMU's vhost-user-vsock asks vhost-device-vsock). Three queues: rx, tx, event.
/// </summary>
public sealed class VsockProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 19;

    /// <summary><c>struct virtio_vsock_config</c>: <c>le64 guest_cid</c>.</summary>
    public const int Size = 8;

    /// <summary>The first CID a guest may have (0 hypervisor, 1 local, 2 host are reserved).</summary>
    public const uint FirstGuestCid = 3;

    private ulong? _cid;

    /// <inheritdoc/>
    public override string Name => "vsock";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <summary>128, as QEMU's vhost-user-vsock.</summary>
    public override uint DefaultQueueSize => 128;

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => _cid is null ? BackendConfig.Required : BackendConfig.None;

    /// <inheritdoc/>
    public override IReadOnlyList<ProfileOption> Options { get; } =
    [
        new("--guest-cid", "N", "this kernel's context ID, 3 to 4294967294 (default: the back end's config)"),
    ];

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => Size;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures)
    {
        if (_cid is null)
        {
            // The back end's CID: the upper 32 bits are reserved (zero), 0 to 2 and 0xffffffff are not guests.
            ulong cid = BinaryPrimitives.ReadUInt64LittleEndian(config);
            if (cid < FirstGuestCid || cid >= uint.MaxValue)
            {
                throw new InvalidOperationException($"device vsock: the back end's guest_cid {cid} is not a guest CID (give --guest-cid)");
            }
        }

        return Fixed(3, backendQueues);
    }

    /// <inheritdoc/>
    public override void WriteFrontendConfig(Span<byte> config, ulong offeredFeatures, uint queueCount)
    {
        if (_cid is { } cid)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(config, cid);
        }
    }

    /// <inheritdoc/>
    protected override string? Set(string option, string value)
    {
        string? error = ProfileOption.ParseUInt(option, value, FirstGuestCid, uint.MaxValue - 1, out ulong cid);
        _cid = error is null ? cid : null;
        return error;
    }
}
