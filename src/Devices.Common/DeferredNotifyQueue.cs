// SPDX-License-Identifier: MIT
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Common;

/// <summary>
/// The queue as <see cref="SerializedDevice"/> hands it to the logic: every call goes to the real
/// queue, except <see cref="NotifyIfNeeded"/>, which is only noted and carried out by
/// <see cref="Flush"/> once the device's lock is released.
/// </summary>
/// <remarks>
/// Why: through virtio-loopback the call eventfd's wake-up runs the driver's interrupt on the
/// signalling CPU. A driver callback may spin there on a lock that another CPU holds while it waits
/// for this device (virtio_console's hvc: <c>in_intr</c> takes the hvc lock that <c>put_chars</c> holds
/// while it spins for its transmit buffer). A thread that signals while holding the device's lock
/// would then keep every other queue of the device from completing that buffer.
/// </remarks>
internal sealed class DeferredNotifyQueue : IVirtqueue
{
    private IVirtqueue _target = null!;
    private bool _notify;

    public int Index => _target.Index;

    public ushort Size => _target.Size;

    public GuestMemoryMap Memory => _target.Memory;

    public bool IsBroken => _target.IsBroken;

    public bool IsEnabled => _target.IsEnabled;

    public IQueueEvents Events => _target.Events;

    /// <summary>Points the proxy at the queue that just started.</summary>
    public void Bind(IVirtqueue target)
    {
        _target = target;
        _notify = false;
    }

    public DescriptorChain CreateChain() => _target.CreateChain();

    public PopResult TryPop(DescriptorChain chain) => _target.TryPop(chain);

    public void PushUsed(ushort head, uint written) => _target.PushUsed(head, written);

    public void NotifyIfNeeded() => _notify = true;

    public bool EnableNotification() => _target.EnableNotification();

    public void DisableNotification() => _target.DisableNotification();

    public void MarkBroken(string reason) => _target.MarkBroken(reason);

    /// <summary>Signals the driver if the logic asked for it (call on the queue's thread, outside the lock).</summary>
    public void Flush()
    {
        if (_notify)
        {
            _notify = false;
            _target.NotifyIfNeeded();
        }
    }
}
