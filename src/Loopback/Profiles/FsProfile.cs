// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>
/// virtio-fs (spec 5.11): the front end owns the whole config, as QEMU's <c>vhost-user-fs-pci</c>
/// does (<c>tag=</c>, <c>num-request-queues=</c>); virtiofsd provides none. Queues: one hiprio
/// queue, then the request queues.
/// </summary>
/// <remarks>
/// Not served: the DAX window (a shared memory region; the module has none, so the driver runs
/// without DAX) and <c>VIRTIO_FS_F_NOTIFICATION</c> (withheld: no notification queue, no
/// <c>notify_buf_size</c>).
/// </remarks>
public sealed class FsProfile : DeviceProfile
{
    /// <summary>The virtio device ID.</summary>
    public const uint Id = 26;

    /// <summary>The longest tag: <c>u8 tag[36]</c>, NUL-padded, not NUL-terminated when full.</summary>
    public const int TagSize = 36;

    /// <summary><c>struct virtio_fs_config</c> offset of <c>num_request_queues</c> (le32).</summary>
    public const int NumRequestQueuesOffset = 36;

    /// <summary>The config size without <c>notify_buf_size</c>.</summary>
    public const int Size = 40;

    /// <summary><c>VIRTIO_FS_F_NOTIFICATION</c>.</summary>
    public const int FeatureNotification = 0;

    private byte[] _tag = [];
    private uint _requestQueues = 1;

    /// <inheritdoc/>
    public override string Name => "fs";

    /// <inheritdoc/>
    public override uint DeviceId => Id;

    /// <summary>128, as QEMU's vhost-user-fs-pci.</summary>
    public override uint DefaultQueueSize => 128;

    /// <inheritdoc/>
    public override IReadOnlyList<ProfileOption> Options { get; } =
    [
        new("--tag", "TAG", "the name the guest mounts (mount -t virtiofs TAG DIR); required, 1 to 36 bytes"),
        new("--num-request-queues", "N", "request queues besides the hiprio queue (default 1)"),
    ];

    /// <summary>The tag's bytes (UTF-8).</summary>
    public ReadOnlySpan<byte> Tag => _tag;

    /// <summary>The number of request queues.</summary>
    public uint RequestQueues => _requestQueues;

    /// <inheritdoc/>
    public override string? Validate() => _tag.Length == 0 ? "device fs needs --tag TAG (the name the guest mounts)" : null;

    /// <inheritdoc/>
    public override ulong OfferedFeatures(ulong backendFeatures, bool backendHasConfig) =>
        backendFeatures & ~(1UL << FeatureNotification);

    /// <inheritdoc/>
    public override int ConfigSize(ulong offeredFeatures) => Size;

    /// <inheritdoc/>
    public override uint QueueCount(ulong? backendQueues, ReadOnlySpan<byte> config, ulong offeredFeatures)
    {
        uint count = 1 + _requestQueues;
        if (backendQueues is { } max && max < count)
        {
            throw new InvalidOperationException(
                $"device fs with {_requestQueues} request queue(s) needs {count} queues; the back end has {max} (see --num-request-queues)");
        }

        return count;
    }

    /// <inheritdoc/>
    public override void WriteFrontendConfig(Span<byte> config, ulong offeredFeatures, uint queueCount)
    {
        Span<byte> tag = config[..TagSize];
        tag.Clear();
        _tag.CopyTo(tag);
        BinaryPrimitives.WriteUInt32LittleEndian(config[NumRequestQueuesOffset..], queueCount - 1);
    }

    /// <inheritdoc/>
    protected override string? Set(string option, string value)
    {
        if (option == "--num-request-queues")
        {
            // The module allows 64 queues; one is the hiprio queue.
            string? error = ProfileOption.ParseUInt(option, value, 1, 63, out ulong n);
            _requestQueues = (uint)Math.Max(n, 1);
            return error;
        }

        byte[] tag = Encoding.UTF8.GetBytes(value);
        if (tag.Length is 0 or > TagSize)
        {
            return $"--tag: expected 1 to {TagSize} bytes, not {tag.Length} ('{value}')";
        }

        foreach (char c in value)
        {
            if (char.IsControl(c))
            {
                return $"--tag: control characters are not allowed ('{value}')";
            }
        }

        _tag = tag;
        return null;
    }
}
