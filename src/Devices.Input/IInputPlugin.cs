// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Input;

/// <summary>
/// A plug-in of <see cref="InputDevice"/>: a side channel to the device behind the evdev node that
/// rides on plain virtio-input. It adds event codes to the device's description, takes the status
/// events the driver sends that are its own, and answers with whole packets on the event queue.
/// <c>vhost-user-input --hidraw</c> plugs in the touch-sensitivity bridge of HTT displays this way.
/// </summary>
/// <remarks>
/// The device owns the plug-in once given it, and disposes it. Answers may be queued from any
/// thread; the device takes them on the event queue's thread, between the node's own packets.
/// </remarks>
public interface IInputPlugin : IDisposable
{
    /// <summary>Signalled when an answer waits; the event queue's thread watches it and reads it.</summary>
    EventFd AnswerReady { get; }

    /// <summary>Where the bridge logs (set when the device is attached to its host).</summary>
    void SetLogger(ILogger logger);

    /// <summary>Adds the plug-in's event codes to the device's description (the config space the driver reads).</summary>
    InputDeviceInfo Amend(InputDeviceInfo info);

    /// <summary>
    /// Takes a status event from the driver (status queue's thread). True when it is the plug-in's
    /// (a request is queued and its answer comes later), false when it is not (the device forwards
    /// LED and sound events to the node).
    /// </summary>
    bool OnStatusEvent(InputEvent inputEvent);

    /// <summary>
    /// Moves the oldest answer into <paramref name="packet"/> as events ending in <c>SYN_REPORT</c>
    /// (event queue's thread); returns their count, 0 when none waits.
    /// </summary>
    int TakeAnswer(Span<InputEvent> packet);
}
