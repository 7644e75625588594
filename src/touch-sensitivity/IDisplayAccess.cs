// SPDX-License-Identifier: MIT
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;

namespace VirtioLoopback.Programs.TouchSensitivity;

/// <summary>One display the tool can reach.</summary>
/// <param name="Path">Its node: <c>/dev/hidrawN</c>, or <c>/dev/input/eventN</c> in a guest.</param>
/// <param name="Transport"><c>hidraw</c> or <c>virtio-input</c>.</param>
/// <param name="Name">The device's name.</param>
/// <param name="Node">The hidraw node (hidraw transport only).</param>
internal sealed record DisplayRef(string Path, string Transport, string Name, HidrawNode? Node);

/// <summary>How the tool reaches displays: hidraw on the host, or the virtio-input convention in a guest.</summary>
internal interface IDisplayAccess
{
    /// <summary>Every display reachable this way, in node order.</summary>
    IReadOnlyList<DisplayRef> List();

    /// <summary>Picks a display: null (the only one), an index into <see cref="List"/>, or a node path.</summary>
    bool TryResolve(string? selector, [NotNullWhen(true)] out DisplayRef? display, out string error);

    /// <summary>Reads the display's state.</summary>
    SensitivityResult Get(DisplayRef display);

    /// <summary>Sets the level and verifies it after the display's restart.</summary>
    SensitivityResult Set(DisplayRef display, SensitivityLevel level);
}
