// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-gpio (spec 5.18): the back end owns the config (<c>ngpio</c>, <c>gpio_names_size</c>),
/// which only the device can know. Two queues: requestq and eventq (used with VIRTIO_GPIO_F_IRQ).
/// </summary>
public sealed class GpioProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 41;

    /// <summary><c>struct virtio_gpio_config</c>: le16 ngpio, u8 padding[2], le32 gpio_names_size.</summary>
    public const int Size = 8;

    /// <inheritdoc/>
    public override string Name => "gpio";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => BackendConfig.Required;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => Size;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures) => Fixed(2, backendQueues);
}
