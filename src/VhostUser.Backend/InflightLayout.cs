// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The split-ring layout of the shared inflight region (vhost-user.rst, "Inflight I/O tracking").
/// The region holds one area per queue, each 64-byte aligned:
/// <code>
/// struct QueueRegionSplit {           // offset
///     u64 features;                   //  0
///     u16 version;                    //  8
///     u16 desc_num;                   // 10
///     u16 last_batch_head;            // 12
///     u16 used_idx;                   // 14
///     DescStateSplit desc[desc_num];  // 16
/// };
/// struct DescStateSplit {             // 16 bytes
///     u8 inflight; u8 padding[5];     //  0
///     u16 next;                       //  6
///     u64 counter;                    //  8
/// };
/// </code>
/// The back end defines the layout (the front end only stores the fd), so the same rules serve
/// <c>GET_INFLIGHT_FD</c>, which creates it, and <c>SET_INFLIGHT_FD</c>, which maps it back.
/// </summary>
internal static class InflightLayout
{
    /// <summary>The layout version this back end writes.</summary>
    public const ushort Version = 1;

    /// <summary>Each queue's area starts on this boundary, as the specification asks.</summary>
    public const int Alignment = 64;

    public const int FeaturesOffset = 0;
    public const int VersionOffset = 8;
    public const int DescNumOffset = 10;
    public const int LastBatchHeadOffset = 12;
    public const int UsedIdxOffset = 14;
    public const int DescOffset = 16;

    public const int DescStateSize = 16;
    public const int DescInflightOffset = 0;
    public const int DescNextOffset = 6;
    public const int DescCounterOffset = 8;

    /// <summary>The size of one queue's area for a queue of <paramref name="queueSize"/> descriptors.</summary>
    public static int QueueRegionSize(int queueSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queueSize);
        int raw = DescOffset + (DescStateSize * queueSize);
        return (raw + Alignment - 1) & ~(Alignment - 1);
    }
}
