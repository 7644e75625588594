// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-console (spec 5.3): the back end owns the config (<c>cols</c>, <c>rows</c>,
/// <c>max_nr_ports</c>, <c>emerg_wr</c>) when it provides one; without it the features that need
/// those fields (SIZE, MULTIPORT, EMERG_WRITE) are withheld. Queues: port 0's receive and transmit
/// queues, and with MULTIPORT the control pair and a pair per further port.
/// </summary>
public sealed class ConsoleProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 3;

    /// <summary><c>VIRTIO_CONSOLE_F_SIZE</c>, <c>VIRTIO_CONSOLE_F_MULTIPORT</c>, <c>VIRTIO_CONSOLE_F_EMERG_WRITE</c>.</summary>
    public const ulong ConfigFeatures = 0b111;

    /// <summary><c>VIRTIO_CONSOLE_F_MULTIPORT</c>.</summary>
    public const int FeatureMultiport = 1;

    /// <summary><c>struct virtio_console_config</c> offset of <c>max_nr_ports</c> (le32).</summary>
    public const int MaxNrPortsOffset = 4;

    /// <summary><c>struct virtio_console_config</c>: cols, rows, max_nr_ports, emerg_wr.</summary>
    public const int Size = 12;

    /// <inheritdoc/>
    public override string Name => "console";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <summary>128, as QEMU's virtio-serial.</summary>
    public override uint DefaultQueueSize => 128;

    /// <inheritdoc/>
    public override BackendConfig BackendConfig => BackendConfig.Optional;

    /// <inheritdoc/>
    public override ulong OfferedFeatures(ulong backendFeatures, bool backendHasConfig) =>
        backendHasConfig ? backendFeatures : backendFeatures & ~ConfigFeatures;

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => (offeredFeatures & ConfigFeatures) != 0 ? Size : 0;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures)
    {
        if (!Has(offeredFeatures, FeatureMultiport))
        {
            return Fixed(2, backendQueues);
        }

        // Port 0's pair, the control pair, then one pair for each further port; the module allows 64 queues.
        uint ports = BinaryPrimitives.ReadUInt32LittleEndian(config[MaxNrPortsOffset..]);
        if (ports is 0 or > 31)
        {
            throw new InvalidOperationException($"device console: the back end's max_nr_ports {ports} is not 1 to 31 (64 queues at most)");
        }

        return Fixed(2 * (ports + 1), backendQueues);
    }
}
