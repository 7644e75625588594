// SPDX-License-Identifier: MIT
using VirtioLoopback.Virtio.Queue;

namespace VirtioLoopback.Devices.Sound;

/// <summary>
/// The I/O messages a stream holds in arrival order, each in its own chain buffer. Buffers are made
/// the first time that many messages are held at once and reused after (a driver holds one per
/// period, 16 at most in Linux), so the steady state allocates nothing.
/// </summary>
internal sealed class HeldMessages
{
    private DescriptorChain?[] _chains = [];
    private uint[] _dataBytes = [];
    private int _first;
    private int _chainCapacity;

    /// <summary>Messages held.</summary>
    public int Count { get; private set; }

    /// <summary>Whether every ring entry is held (a driver that reuses a held head would overflow the store).</summary>
    public bool IsFull => Count == _chains.Length;

    /// <summary>Sample bytes in the held messages.</summary>
    public long Bytes { get; private set; }

    /// <summary>Sizes the store for a ring of <paramref name="queueSize"/> entries; only when nothing is held.</summary>
    public void Resize(int queueSize)
    {
        if (_chains.Length == queueSize)
        {
            return;
        }

        _chains = new DescriptorChain?[queueSize];
        _dataBytes = new uint[queueSize];
        _chainCapacity = queueSize;
        _first = 0;
        Count = 0;
        Bytes = 0;
    }

    /// <summary>Forgets every held message (the rings are gone: a reset).</summary>
    public void Clear()
    {
        _first = 0;
        Count = 0;
        Bytes = 0;
    }

    /// <summary>The buffer the next message is popped into (held only once <see cref="Append"/> says so).</summary>
    public DescriptorChain Next()
    {
        int slot = (_first + Count) % _chains.Length;
        return _chains[slot] ??= new DescriptorChain(_chainCapacity);
    }

    /// <summary>Holds the message last popped into <see cref="Next"/>.</summary>
    public void Append(uint dataBytes)
    {
        _dataBytes[(_first + Count) % _chains.Length] = dataBytes;
        Count++;
        Bytes += dataBytes;
    }

    /// <summary>The oldest message and its sample bytes.</summary>
    public DescriptorChain Peek(out uint dataBytes) => Peek(0, out dataBytes);

    /// <summary>The <paramref name="index"/>th oldest message and its sample bytes.</summary>
    public DescriptorChain Peek(int index, out uint dataBytes)
    {
        int slot = (_first + index) % _chains.Length;
        dataBytes = _dataBytes[slot];
        return _chains[slot]!;
    }

    /// <summary>Lets go of the oldest message.</summary>
    public void Drop()
    {
        Bytes -= _dataBytes[_first];
        _first = (_first + 1) % _chains.Length;
        Count--;
    }
}
