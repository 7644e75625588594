// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Sys;

/// <summary><c>fallocate(2)</c> mode bits (<c>FALLOC_FL_*</c>).</summary>
[Flags]
public enum FallocateMode
{
    /// <summary>Allocate (and extend the file if needed).</summary>
    Allocate = 0,

    /// <summary><c>FALLOC_FL_KEEP_SIZE</c>: do not change the file size.</summary>
    KeepSize = 0x01,

    /// <summary><c>FALLOC_FL_PUNCH_HOLE</c>: deallocate; must be combined with <see cref="KeepSize"/>.</summary>
    PunchHole = 0x02,

    /// <summary><c>FALLOC_FL_ZERO_RANGE</c>: make the range read as zeros.</summary>
    ZeroRange = 0x10,
}
