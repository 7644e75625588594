// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-i2c (spec 5.16): no config space; one request queue. The back end's features
/// (VIRTIO_I2C_F_ZERO_LENGTH_REQUEST, which Linux requires) go to the driver unchanged.
/// </summary>
public sealed class I2cProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 34;

    /// <inheritdoc/>
    public override string Name => "i2c";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => 0;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures) => Fixed(1, backendQueues);
}
