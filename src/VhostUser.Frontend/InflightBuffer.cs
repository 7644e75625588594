// SPDX-License-Identifier: MIT
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Frontend;

/// <summary>The shared inflight-tracking area a back end returns for <c>GET_INFLIGHT_FD</c>.</summary>
/// <param name="Fd">The area's fd; the caller owns it.</param>
/// <param name="MmapSize">Size of the area.</param>
/// <param name="MmapOffset">Offset of the area in <paramref name="Fd"/>.</param>
public readonly record struct InflightBuffer(FileDescriptor Fd, ulong MmapSize, ulong MmapOffset);
