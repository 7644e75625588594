// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;

namespace VirtioLoopback.Programs.TouchSensitivity;

/// <summary>Displays on this machine's hidraw nodes (bare metal, or a host).</summary>
internal sealed class HidrawAccess(SensitivityService service) : IDisplayAccess
{
    public const string Transport = "hidraw";

    public IReadOnlyList<DisplayRef> List()
    {
        var list = new List<DisplayRef>();
        foreach (HidrawNode node in service.FindDisplays())
        {
            list.Add(new DisplayRef(node.Path, Transport, node.Name, node));
        }

        return list;
    }

    public bool TryResolve(string? selector, [NotNullWhen(true)] out DisplayRef? display, out string error)
    {
        display = null;
        if (!service.TryResolve(selector, out HidrawNode? node, out error))
        {
            return false;
        }

        display = new DisplayRef(node.Path, Transport, node.Name, node);
        return true;
    }

    public SensitivityResult Get(DisplayRef display) => service.Get(Node(display));

    public SensitivityResult Set(DisplayRef display, SensitivityLevel level) => service.Set(Node(display), level);

    private static HidrawNode Node(DisplayRef display) =>
        display.Node ?? throw new ArgumentException("not a hidraw display", nameof(display));
}
