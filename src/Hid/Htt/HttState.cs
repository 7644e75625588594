// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Hid.Htt;

/// <summary>What an HTT display reports about itself.</summary>
/// <param name="Controller">The touch controller (report 4).</param>
/// <param name="Firmware">The firmware revision (report 9).</param>
/// <param name="Sensitivity">The sensitivity (report 7); null when the controller has no such setting.</param>
public readonly record struct HttState(ControllerType Controller, uint Firmware, SensitivityLevel? Sensitivity);
