// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Hid.Htt;

/// <summary>The outcome of a get or set.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="State">The display's state at the end (after the reboot for a set); null when unknown.</param>
/// <param name="Node">The node the display has at the end (its number may change across a reboot).</param>
/// <param name="Message">A one-line explanation for people.</param>
/// <param name="Restarted">Whether the display went away and came back.</param>
/// <param name="ElapsedMs">Time from the write to the verified value (0 for a get).</param>
public sealed record SensitivityResult(
    SensitivityStatus Status,
    HttState? State,
    HidrawNode? Node,
    string Message,
    bool Restarted = false,
    long ElapsedMs = 0)
{
    /// <summary>Whether the request succeeded (<see cref="SensitivityStatus.Ok"/> or <see cref="SensitivityStatus.Unchanged"/>).</summary>
    public bool Succeeded => Status is SensitivityStatus.Ok or SensitivityStatus.Unchanged;
}
