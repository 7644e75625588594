// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-input (spec 5.8): the back end owns the whole 136-byte config; the driver writes
/// <c>select</c>/<c>subsel</c> and reads the back end's answer, so those writes are forwarded.
/// Two queues: eventq and statusq.
/// </summary>
public sealed class InputProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 18;

    /// <summary><c>struct virtio_input_config</c>: select, subsel, size, reserved[5], u[128].</summary>
    public const int Size = 136;

    /// <inheritdoc/>
    public override string Name => "input";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => BackendConfig.Required;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => Size;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures) => Fixed(2, backendQueues);
}
