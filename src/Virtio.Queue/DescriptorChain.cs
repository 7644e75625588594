// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// A popped descriptor chain: its head index and its buffers, the device-readable ones first and
/// the device-writable ones after them. Preallocated and reused for every pop, so popping does not
/// allocate; give it a capacity of at least the queue size.
/// </summary>
/// <remarks>
/// A descriptor whose buffer runs from one guest memory region into the next (adjacent) one is held
/// as one piece per region, in order, so every entry of <see cref="All"/> lies inside one region.
/// Such pieces may outnumber the descriptors: the chain then grows, once, up to
/// <see cref="MaxPieces"/> entries (the only allocation, and only for such guests).
/// </remarks>
public sealed class DescriptorChain
{
    private Descriptor[] _descriptors;
    private int _readableCount;
    private int _count;

    /// <summary>Creates a chain able to hold <paramref name="capacity"/> descriptors.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 1 or above 32768.</exception>
    public DescriptorChain(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, SplitRing.MaxSize);
        Capacity = capacity;
        _descriptors = new Descriptor[capacity];
    }

    /// <summary>The most descriptors the chain can hold; longer chains make the queue broken.</summary>
    public int Capacity { get; }

    /// <summary>
    /// The most buffers (pieces) the chain can hold once descriptors are split at region boundaries:
    /// every descriptor split once, and a few split more.
    /// </summary>
    public int MaxPieces => (2 * Capacity) + 16;

    /// <summary>The chain's head descriptor index, the id given back in the used ring.</summary>
    public ushort Head { get; internal set; }

    /// <summary>The number of buffers (readable plus writable), split pieces counted one by one.</summary>
    public int Count => _count;

    /// <summary>The device-readable (driver-to-device) buffers, in chain order.</summary>
    public ReadOnlySpan<Descriptor> Readable => new(_descriptors, 0, _readableCount);

    /// <summary>The device-writable (device-to-driver) buffers, in chain order.</summary>
    public ReadOnlySpan<Descriptor> Writable => new(_descriptors, _readableCount, _count - _readableCount);

    /// <summary>All buffers, readable ones first.</summary>
    public ReadOnlySpan<Descriptor> All => new(_descriptors, 0, _count);

    /// <summary>The total length of the readable buffers.</summary>
    public uint ReadableLength { get; private set; }

    /// <summary>The total length of the writable buffers.</summary>
    public uint WritableLength { get; private set; }

    /// <summary>Whether the chain went through an indirect descriptor table.</summary>
    public bool IsIndirect { get; internal set; }

    /// <summary>Whether a writable buffer was added (readable ones may no longer follow).</summary>
    internal bool HasWritable => _count != _readableCount;

    /// <summary>Empties the chain.</summary>
    public void Clear()
    {
        Head = 0;
        _readableCount = 0;
        _count = 0;
        ReadableLength = 0;
        WritableLength = 0;
        IsIndirect = false;
    }

    /// <summary>
    /// Appends a buffer, growing the storage for split pieces if needed. The caller (the queue's
    /// validation) guarantees ordering (readable before writable) and that the total length fits
    /// 32 bits.
    /// </summary>
    /// <returns>False when the chain already holds <see cref="MaxPieces"/> buffers.</returns>
    internal bool TryAdd(ulong address, uint length, bool writable)
    {
        if (_count == _descriptors.Length)
        {
            if (_count >= MaxPieces)
            {
                return false;
            }

            Array.Resize(ref _descriptors, Math.Min(MaxPieces, _count * 2));
        }

        _descriptors[_count++] = new Descriptor(address, length, writable);
        if (writable)
        {
            WritableLength += length;
        }
        else
        {
            _readableCount++;
            ReadableLength += length;
        }

        return true;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"head {Head}: {_readableCount} readable ({ReadableLength} bytes), {_count - _readableCount} writable ({WritableLength} bytes)";
}
