// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>How many file descriptors a request may carry.</summary>
public enum FdRule
{
    /// <summary>None.</summary>
    None,

    /// <summary>Exactly one.</summary>
    One,

    /// <summary>Zero or one (for example <c>REM_MEM_REG</c>, which the spec lets carry a stray fd).</summary>
    ZeroOrOne,

    /// <summary>One, unless bit 8 of the leading u64 (the no-fd flag) is set; then none.</summary>
    OneUnlessNoFdFlag,

    /// <summary>One per memory region of the table (<c>SET_MEM_TABLE</c>).</summary>
    OnePerRegion,
}
