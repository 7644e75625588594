// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-snd (spec 5.14): the back end owns the config (<c>jacks</c>, <c>streams</c>, <c>chmaps</c>,
/// and <c>controls</c> with VIRTIO_SND_F_CTLS), which only the device can know. Four queues:
/// control, event, tx, rx.
/// </summary>
public sealed class SoundProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 25;

    /// <summary><c>VIRTIO_SND_F_CTLS</c>: <c>controls</c> follows.</summary>
    public const int FeatureCtls = 0;

    /// <summary><c>struct virtio_snd_config</c>: le32 jacks, streams, chmaps.</summary>
    public const int Size = 12;

    /// <summary>The size with <c>le32 controls</c>.</summary>
    public const int CtlsSize = 16;

    /// <inheritdoc/>
    public override string Name => "sound";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => BackendConfig.Required;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => Has(offeredFeatures, FeatureCtls) ? CtlsSize : Size;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures) => Fixed(4, backendQueues);
}
