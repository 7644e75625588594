// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Hid;

/// <summary>An open hidraw node: feature reports and the wait for its removal.</summary>
public interface IHidrawDevice : IDisposable
{
    /// <summary>The node's path.</summary>
    string Path { get; }

    /// <summary>
    /// <c>HIDIOCGFEATURE</c>: <paramref name="report"/>[0] holds the report id; the reply (report id
    /// first) is written over the buffer. Returns the bytes the kernel returned.
    /// </summary>
    /// <exception cref="Sys.SysException">The ioctl failed (ENODEV once the device is gone).</exception>
    int GetFeature(Span<byte> report);

    /// <summary><c>HIDIOCSFEATURE</c>: <paramref name="report"/>[0] is the report id.</summary>
    /// <exception cref="Sys.SysException">The ioctl failed.</exception>
    void SetFeature(ReadOnlySpan<byte> report);

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for the device behind this open node to be removed
    /// (the fd reports hang-up). A node that comes back is a new device; this fd stays dead.
    /// </summary>
    bool WaitGone(int timeoutMs);
}
