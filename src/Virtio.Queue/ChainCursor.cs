// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.GuestMemory;

namespace VirtioLoopback.Virtio.Queue;

/// <summary>
/// A position inside one side (readable or writable) of a chain, handing out the guest memory
/// behind it in contiguous pieces. Shared by <see cref="ChainReader"/> and <see cref="ChainWriter"/>.
/// </summary>
internal struct ChainCursor
{
    private readonly GuestMemoryMap _memory;
    private readonly DescriptorChain _chain;
    private readonly bool _writable;
    private int _index;
    private uint _offset;

    public ChainCursor(GuestMemoryMap memory, DescriptorChain chain, bool writable)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(chain);
        _memory = memory;
        _chain = chain;
        _writable = writable;
        _index = 0;
        _offset = 0;
        Position = 0;
        IsFaulted = false;
    }

    public uint Position { get; private set; }

    public readonly uint Length => _chain is null ? 0 : _writable ? _chain.WritableLength : _chain.ReadableLength;

    public bool IsFaulted { get; private set; }

    private readonly ReadOnlySpan<Descriptor> Descriptors => _writable ? _chain.Writable : _chain.Readable;

    /// <summary>The next contiguous piece of at most <paramref name="maxLength"/> bytes; moves past it.</summary>
    public bool TryNext(int maxLength, out Span<byte> span)
    {
        span = default;
        if (_chain is null || IsFaulted || maxLength <= 0 || !TrySkipEmpty(out Descriptor descriptor))
        {
            return false;
        }

        uint length = Math.Min(descriptor.Length - _offset, (uint)maxLength);

        // The chain was validated against a memory map; the range fails only when the caller passes
        // a map without that region (memory changed), which ends the cursor.
        if (!_memory.TryGetSpan(descriptor.Address + _offset, length, out span))
        {
            IsFaulted = true;
            return false;
        }

        _offset += length;
        Position += length;
        return true;
    }

    /// <summary>Moves forward by <paramref name="count"/> bytes without touching memory.</summary>
    public bool TrySkip(uint count)
    {
        if (_chain is null || count > Length - Position)
        {
            return false;
        }

        while (count > 0 && TrySkipEmpty(out Descriptor descriptor))
        {
            uint step = Math.Min(descriptor.Length - _offset, count);
            _offset += step;
            Position += step;
            count -= step;
        }

        return true;
    }

    /// <summary>Steps over used-up descriptors to the one the position is in.</summary>
    private bool TrySkipEmpty(out Descriptor descriptor)
    {
        ReadOnlySpan<Descriptor> descriptors = Descriptors;
        while (_index < descriptors.Length)
        {
            descriptor = descriptors[_index];
            if (_offset < descriptor.Length)
            {
                return true;
            }

            _index++;
            _offset = 0;
        }

        descriptor = default;
        return false;
    }
}
