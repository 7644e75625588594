// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>Throws kept out of line so the callers' hot paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowHeadOutOfRange(ushort head, ushort size) =>
        throw new ArgumentOutOfRangeException(nameof(head), head, $"The head must be below the queue size {size}.");
}
