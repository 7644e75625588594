// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>virtio-rng (spec 5.4): no config space, one request queue.</summary>
public sealed class RngProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 4;

    /// <inheritdoc/>
    public override string Name => "rng";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => 0;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures) => Fixed(1, backendQueues);
}
