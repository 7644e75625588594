// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Threading;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>Returning chains through the used ring, and notification suppression both ways.</summary>
public sealed partial class SplitQueue
{
    /// <summary>
    /// Returns the chain with head <paramref name="head"/> to the driver, saying the device wrote
    /// <paramref name="written"/> bytes into its writable buffers: writes the used element, then
    /// publishes the used index. Does nothing on a broken or unconfigured queue; does not allocate.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="head"/> is not below <see cref="Size"/> (a device bug).</exception>
    public void PushUsed(ushort head, uint written)
    {
        if (BrokenReason is not null || !IsReady)
        {
            return;
        }

        if (head >= Size)
        {
            ThrowHelper.ThrowHeadOutOfRange(head, Size);
        }

        ulong element = UsedRing + SplitRing.UsedRingOffset + ((ulong)SplitRing.UsedElementSize * (uint)(_nextUsed & (Size - 1)));
        if (!_memory.TryGetSpan(element, SplitRing.UsedElementSize, out Span<byte> span))
        {
            MarkBroken("used ring is no longer inside guest memory");
            return;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(span, head);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], written);

        // Release: the element (and the data the device wrote into the buffers) must be visible
        // before the new used idx, which is what tells the driver to read them (§2.7.14 step 4,
        // the write barrier before "update the idx").
        Volatile.WriteBarrier();
        _nextUsed++;
        if (!_memory.TryWriteU16(UsedRing + SplitRing.UsedIdxOffset, _nextUsed))
        {
            MarkBroken("used ring is no longer inside guest memory");
            return;
        }

        if (_inFlight > 0)
        {
            _inFlight--;
        }
    }

    /// <summary>
    /// Whether the driver wants a used-buffer notification now, after one or more <see cref="PushUsed"/>
    /// calls: with NOTIFY_ON_EMPTY always when nothing is in flight and the available ring is empty;
    /// otherwise with EVENT_IDX when the used index passed <c>used_event</c> since the last decision,
    /// and without it unless the driver set <c>VRING_AVAIL_F_NO_INTERRUPT</c>. Call it once per batch.
    /// </summary>
    public bool NeedsNotification()
    {
        if (BrokenReason is not null || !IsReady)
        {
            return false;
        }

        // Full barrier: our used idx store must be visible before we read the driver's suppression
        // state (used_event or the avail flags), which it re-reads after re-enabling callbacks
        // (virtqueue_enable_cb, §2.7.10); store-load ordering needs a full fence.
        Interlocked.MemoryBarrier();

        if (NotifyOnEmpty && _inFlight == 0 && TryReadAvailIdx(out ushort availIdx) && availIdx == _nextAvail)
        {
            return true;
        }

        if (!EventIdx)
        {
            return _memory.TryReadU16(AvailRing, out ushort flags) && (flags & SplitRing.AvailFlagNoInterrupt) == 0;
        }

        ushort old = _signalledUsed;
        bool valid = _signalledUsedValid;
        _signalledUsed = _nextUsed;
        _signalledUsedValid = true;
        if (!_memory.TryReadU16(AvailRing + (ulong)SplitRing.UsedEventOffset(Size), out ushort usedEvent))
        {
            MarkBroken("available ring is no longer inside guest memory");
            return false;
        }

        // Without a previous decision we cannot tell whether used_event was passed: notify.
        return !valid || SplitRing.NeedEvent(usedEvent, _nextUsed, old);
    }

    /// <summary>
    /// Asks the driver to stop kicking: sets <c>VRING_USED_F_NO_NOTIFY</c> without EVENT_IDX; with
    /// EVENT_IDX <c>avail_event</c> simply stops advancing, so at most one more kick comes.
    /// </summary>
    public void DisableNotification()
    {
        _notificationsEnabled = false;
        if (BrokenReason is not null || !IsReady || EventIdx)
        {
            return;
        }

        _usedFlags |= SplitRing.UsedFlagNoNotify;
        WriteUsedFlags();
    }

    /// <summary>
    /// Asks the driver to kick again (<c>avail_event</c> = <see cref="NextAvail"/> with EVENT_IDX,
    /// else clears <c>VRING_USED_F_NO_NOTIFY</c>), then re-checks the available ring.
    /// </summary>
    /// <returns>
    /// True when buffers are available (possibly added while notifications were off, without a kick):
    /// the caller must process them (and may disable notifications again) instead of sleeping.
    /// </returns>
    public bool EnableNotification()
    {
        _notificationsEnabled = true;
        if (BrokenReason is not null || !IsReady)
        {
            return false;
        }

        if (EventIdx)
        {
            if (!TryWriteAvailEvent())
            {
                return false;
            }
        }
        else
        {
            _usedFlags = (ushort)(_usedFlags & ~SplitRing.UsedFlagNoNotify);
            WriteUsedFlags();
        }

        // Full barrier: the request for kicks must be visible before we look at avail idx again,
        // or a driver publishing right now may still see notifications off while we miss its
        // buffer (store-load ordering; vhost_enable_notify's smp_mb).
        Interlocked.MemoryBarrier();
        return _nextAvail != _shadowAvailIdx || (TryReadAvailIdx(out ushort idx) && idx != _nextAvail);
    }

    /// <summary>The used ring's <c>idx</c> as it is in guest memory now; 0 when it cannot be read.</summary>
    public ushort UsedIdxFromRing() =>
        IsReady && _memory.TryReadU16(UsedRing + SplitRing.UsedIdxOffset, out ushort idx) ? idx : (ushort)0;

    private void WriteUsedFlags()
    {
        if (!_memory.TryWriteU16(UsedRing, _usedFlags))
        {
            MarkBroken("used ring is no longer inside guest memory");
        }
    }
}
