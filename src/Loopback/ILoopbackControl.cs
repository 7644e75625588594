// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Loopback;

/// <summary>
/// The control channel of virtio-loopback: one open <c>/dev/virtio-loopback</c>. An interface so
/// that the device state machine can be tested without the module.
/// </summary>
public interface ILoopbackControl
{
    /// <summary>The limits the module reported when the channel was opened.</summary>
    LoopbackApiInfo ApiInfo { get; }

    /// <summary>
    /// CREATE_DEVICE. Fills <see cref="LoopbackCreate.ConfigAddr"/> and <see cref="LoopbackCreate.ConfigSize"/>
    /// from <paramref name="config"/>, and the output fields of <paramref name="request"/>.
    /// </summary>
    /// <returns>The pool fd (owned by the caller).</returns>
    FileDescriptor CreateDevice(ref LoopbackCreate request, ReadOnlySpan<byte> config);

    /// <summary>DESTROY_DEVICE.</summary>
    void DestroyDevice(uint handle);

    /// <summary>SET_QUEUE_FDS; null detaches.</summary>
    void SetQueueFds(uint handle, uint queue, FileDescriptor? kick, FileDescriptor? call);

    /// <summary>GET_QUEUE_INFO.</summary>
    LoopbackQueueInfo GetQueueInfo(uint handle, uint queue);

    /// <summary>SET_CONFIG: replace <paramref name="data"/> at <paramref name="offset"/>, optionally notifying the driver.</summary>
    void SetConfig(uint handle, uint offset, ReadOnlySpan<byte> data, bool notify);

    /// <summary>EVENT_DONE for event <paramref name="seq"/> with a status (0 or a positive errno).</summary>
    void EventDone(uint handle, ulong seq, uint status);

    /// <summary>
    /// FAIL_DEVICE: the back end cannot run the device; the driver gets NEEDS_RESET and its requests
    /// fail instead of waiting. Throws (ENOTTY) on a module that predates the call.
    /// </summary>
    void FailDevice(uint handle, uint status);
}
