// SPDX-License-Identifier: MIT
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace VirtioLoopback.Hid;

/// <summary>Where hidraw nodes come from: the real system (<see cref="HidrawSystem"/>) or a test fake.</summary>
public interface IHidrawSystem
{
    /// <summary>Every hidraw node present now, ordered by node number.</summary>
    IReadOnlyList<HidrawNode> Scan();

    /// <summary>Describes one node (a path given by the user); false when it is not a hidraw node.</summary>
    bool TryDescribe(string path, [NotNullWhen(true)] out HidrawNode? node, out int errno);

    /// <summary>Opens <paramref name="path"/> read-write; false with the errno when it cannot be.</summary>
    bool TryOpen(string path, [NotNullWhen(true)] out IHidrawDevice? device, out int errno);
}
