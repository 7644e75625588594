// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Input.Sensitivity;

/// <summary>
/// What <see cref="InputDevice"/> needs from the touch-sensitivity bridge of
/// <c>vhost-user-input --hidraw</c>: the capability it adds, the status events it takes, and its
/// answers for the event queue. A seam for tests.
/// </summary>
public interface ISensitivityBridge : IDisposable
{
    /// <summary>Signalled when an answer waits; the event queue's worker watches it and reads it.</summary>
    EventFd AnswerReady { get; }

    /// <summary>Where the bridge logs (set when the device is attached to its host).</summary>
    void SetLogger(ILogger logger);

    /// <summary>Adds the convention's capability (<c>EV_MSC</c>/<c>MSC_RAW</c>) to the device's description.</summary>
    InputDeviceInfo Amend(InputDeviceInfo info);

    /// <summary>
    /// Takes a status event from the driver (status queue worker). True when it was a request of the
    /// convention (queued; the answer comes later), false when it is not the bridge's.
    /// </summary>
    bool OnStatusEvent(InputEvent inputEvent);

    /// <summary>
    /// Moves the oldest answer into <paramref name="packet"/> as events ending in <c>SYN_REPORT</c>
    /// (event queue worker); returns their count, 0 when none waits.
    /// </summary>
    int TakeAnswer(Span<InputEvent> packet);
}
