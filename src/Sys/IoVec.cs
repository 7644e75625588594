// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Sys;

/// <summary>
/// <c>struct iovec</c>: one buffer of a scatter/gather list for <see cref="FileIo.PReadV"/> and
/// <see cref="FileIo.PWriteV"/>. The memory must stay alive (and not move) for the duration of the
/// call; guest memory from a <see cref="MappedMemory"/> mapping qualifies.
/// </summary>
/// <remarks>A plain interop struct: the layout must match the C one, so the fields are public.</remarks>
[StructLayout(LayoutKind.Sequential)]
public struct IoVec
{
    /// <summary>Start address of the buffer.</summary>
    public nint Base;

    /// <summary>Length of the buffer in bytes.</summary>
    public nuint Length;

    /// <summary>Creates an entry for <paramref name="length"/> bytes at <paramref name="baseAddress"/>.</summary>
    public IoVec(nint baseAddress, nuint length)
    {
        Base = baseAddress;
        Length = length;
    }
}
