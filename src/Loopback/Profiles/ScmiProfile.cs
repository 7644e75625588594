// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-scmi (spec 5.17): no config space. Two queues: cmdq and eventq
/// (used with VIRTIO_SCMI_F_P2A_CHANNELS), as QEMU's vhost-user-scmi has.
/// </summary>
public sealed class ScmiProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 32;

    /// <inheritdoc/>
    public override string Name => "scmi";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => 0;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures) => Fixed(2, backendQueues);
}
