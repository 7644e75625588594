// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// What the front end knows about one virtio device type: its config layout and which of its
/// fields the front end owns, its queue-count rule and default ring size, the features the front
/// end adds or withholds, and the command-line options the type takes. QEMU keeps the same
/// knowledge in its device-specific front ends (<c>vhost-user-fs-pci tag=</c>, virtio-net's MAC);
/// most vhost-user back ends (virtiofsd, DPDK, rust-vmm vhost-device) do not provide a config space.
/// </summary>
/// <remarks>
/// One instance per device on the command line: it holds that device's options. The adapter asks it,
/// in this order, <see cref="OfferedFeatures"/>, <see cref="ConfigSize"/>, (the back end's config if
/// <see cref="BackendConfig"/> allows), <see cref="QueueCount"/>, then <see cref="WriteFrontendConfig"/>.
/// A back end that does not fit the type (too few queues, no config where one is needed) makes
/// those throw <see cref="InvalidOperationException"/> with a one-line reason.
/// </remarks>
public abstract class DeviceProfile
{
    private readonly HashSet<string> _given = new(StringComparer.Ordinal);

    /// <summary>The type's name on the command line (<c>fs</c>, <c>net</c>, ...; <c>raw</c> for the generic one).</summary>
    public abstract string Name { get; }

    /// <summary>The virtio device ID (virtio spec 5).</summary>
    public abstract uint DeviceId { get; }

    /// <summary>The largest ring offered to the driver unless <c>--queue-size</c> says otherwise.</summary>
    public virtual uint DefaultQueueSize => 256;

    /// <summary>Whether the config space comes from the back end (<c>GET_CONFIG</c>), and whether it must.</summary>
    public virtual BackendConfig BackendConfig => BackendConfig.None;

    /// <summary>The type's own options, for <c>--help</c> and for the parser.</summary>
    public virtual IReadOnlyList<ProfileOption> Options => [];

    /// <summary>Sets one of the type's options; returns an error message, or null when it is fine.</summary>
    public string? SetOption(string option, string value)
    {
        ArgumentNullException.ThrowIfNull(option);
        ArgumentNullException.ThrowIfNull(value);
        if (!Takes(option))
        {
            return $"{option} is not an option of device {Name}";
        }

        if (!_given.Add(option))
        {
            return $"{option} is given twice for one device";
        }

        return Set(option, value);
    }

    /// <summary>Whether <paramref name="option"/> is one of this type's options.</summary>
    public bool Takes(string option)
    {
        foreach (ProfileOption o in Options)
        {
            if (o.Name == option)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Checks what only the whole command line shows (a required option missing).</summary>
    public virtual string? Validate() => null;

    /// <summary>
    /// What the driver is offered of the back end's device features (<c>VHOST_USER_F_PROTOCOL_FEATURES</c>
    /// and <c>ACCESS_PLATFORM</c> already removed): the front end adds the bits whose config fields it
    /// owns and withholds what it cannot serve. The module filters transport bits afterwards.
    /// </summary>
    public virtual ulong OfferedFeatures(ulong backendFeatures, bool backendHasConfig) => backendFeatures;

    /// <summary>The config space size for the features offered (0 for a type without one).</summary>
    public abstract int ConfigSize(ulong offeredFeatures);

    /// <summary>
    /// The number of virtqueues.
    /// </summary>
    /// <param name="backendQueues">The back end's <c>GET_QUEUE_NUM</c> when it has <c>MQ</c>, else null.</param>
    /// <param name="config">The config space so far (the back end's bytes, when it provides them).</param>
    /// <param name="offeredFeatures">The features offered to the driver.</param>
    public abstract uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures);

    /// <summary>Writes the fields the front end owns over <paramref name="config"/> (after every <c>GET_CONFIG</c> too).</summary>
    public virtual void WriteFrontendConfig(Span<byte> config, ulong offeredFeatures, uint queueCount)
    {
    }

    /// <summary>Sets an option this type takes (already checked: known, given once).</summary>
    protected virtual string? Set(string option, string value) => $"{option} is not an option of device {Name}";

    /// <summary>Whether <paramref name="bit"/> is set in <paramref name="features"/>.</summary>
    protected static bool Has(ulong features, int bit) => (features & (1UL << bit)) != 0;

    /// <summary>
    /// A type with a fixed queue count: fails when the back end says (under <c>MQ</c>) it has fewer.
    /// </summary>
    protected uint Fixed(uint count, ulong? backendQueues)
    {
        if (backendQueues is { } max && max < count)
        {
            throw new InvalidOperationException($"device {Name} needs {count} queues; the back end has {max}");
        }

        return count;
    }
}
