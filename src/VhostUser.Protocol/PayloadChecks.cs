// SPDX-License-Identifier: MIT
using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>Length checks shared by the payload codecs; throws stay out of line.</summary>
internal static class PayloadChecks
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Require(int available, int needed, string paramName)
    {
        if ((uint)available < (uint)needed)
        {
            ThrowTooShort(available, needed, paramName);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTooShort(int available, int needed, string paramName) =>
        throw new ArgumentException($"The payload needs {needed} bytes; {available} given.", paramName);
}
