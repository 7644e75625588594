// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Hid.Htt;

/// <summary>How a sensitivity request ended. The numbers are part of the virtio-input convention.</summary>
public enum SensitivityStatus : byte
{
    /// <summary>Done: read, or set and verified after the display came back.</summary>
    Ok = 0,

    /// <summary>The display already had the requested level; nothing was written (no reboot).</summary>
    Unchanged = 1,

    /// <summary>The controller has no sensitivity setting.</summary>
    UnsupportedController = 2,

    /// <summary>The controller does not support the requested level.</summary>
    UnsupportedLevel = 3,

    /// <summary>The display did not come back within the timeout after the set.</summary>
    Timeout = 4,

    /// <summary>The display came back with another level than the one written.</summary>
    Mismatch = 5,

    /// <summary>No display was found.</summary>
    NotFound = 6,

    /// <summary>A feature report failed (I/O error, permission, short reply).</summary>
    IoError = 7,

    /// <summary>Another set is still in progress.</summary>
    Busy = 8,

    /// <summary>The request was malformed (unknown level).</summary>
    BadRequest = 9,
}
