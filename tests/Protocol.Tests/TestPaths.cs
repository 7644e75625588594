// SPDX-License-Identifier: MIT
using System;
using System.IO;

namespace VirtioLoopback.Tests;

/// <summary>Short unique socket paths (sun_path holds only 107 bytes).</summary>
internal static class TestPaths
{
    internal static string NewSocketPath() =>
        Path.Combine(Path.GetTempPath(), $"vl-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24] + ".sock");
}
