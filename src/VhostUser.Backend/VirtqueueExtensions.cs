// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>Batch processing helpers shared by the devices.</summary>
public static class VirtqueueExtensions
{
    /// <summary>
    /// Pops the next chain of a batch that runs with kicks disabled. When the ring looks empty it
    /// re-enables kicks and looks once more: a buffer the driver added between the last pop and the
    /// re-arm would otherwise wait for a kick that never comes. If one did arrive, kicks go back off
    /// for the rest of the batch. <see cref="PopResult.Empty"/> therefore leaves kicks enabled.
    /// </summary>
    public static PopResult PopNextInBatch(this IVirtqueue queue, DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(queue);
        while (true)
        {
            PopResult result = queue.TryPop(chain);
            if (result != PopResult.Empty || !queue.EnableNotification())
            {
                return result;
            }

            queue.DisableNotification();
        }
    }
}
