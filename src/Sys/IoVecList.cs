// SPDX-License-Identifier: MIT
using System;
using System.Runtime.CompilerServices;

namespace VirtioLoopback.Sys;

/// <summary>
/// A fixed-size array of <see cref="IoVec"/> entries that never moves: allocated on the pinned
/// object heap, so the kernel may read it after the call that named it returned (an io_uring
/// submission does). It also serves the blocking calls as an ordinary span.
/// </summary>
public sealed class IoVecList
{
    private readonly IoVec[] _entries;

    /// <summary>Creates <paramref name="length"/> zeroed entries.</summary>
    public IoVecList(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _entries = GC.AllocateArray<IoVec>(length, pinned: true);
    }

    /// <summary>The number of entries.</summary>
    public int Length => _entries.Length;

    /// <summary>Entry <paramref name="index"/>, by reference.</summary>
    public ref IoVec this[int index] => ref _entries[index];

    /// <summary>Entries <paramref name="start"/> to <paramref name="start"/> + <paramref name="length"/>.</summary>
    public Span<IoVec> AsSpan(int start, int length) => _entries.AsSpan(start, length);

    /// <summary>The address of entry <paramref name="index"/>; stable for the list's lifetime.</summary>
    internal unsafe nint AddressOf(int index) => (nint)Unsafe.AsPointer(ref _entries[index]);
}
