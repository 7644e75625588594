// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Virtio.Queue;

/// <summary>The outcome of <see cref="SplitQueue.TryPop"/>.</summary>
public enum PopResult
{
    /// <summary>No buffers are available.</summary>
    Empty,

    /// <summary>A chain was popped into the caller's <see cref="DescriptorChain"/>.</summary>
    Popped,

    /// <summary>The queue is broken (see <see cref="SplitQueue.BrokenReason"/>); nothing more will be popped.</summary>
    Broken,
}
