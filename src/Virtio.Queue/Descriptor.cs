// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Virtio.Queue;

/// <summary>One validated buffer of a descriptor chain: guest physical address, length, direction.</summary>
public readonly struct Descriptor
{
    /// <summary>Creates a descriptor.</summary>
    public Descriptor(ulong address, uint length, bool isWritable)
    {
        Address = address;
        Length = length;
        IsWritable = isWritable;
    }

    /// <summary>The buffer's guest physical address.</summary>
    public ulong Address { get; }

    /// <summary>The buffer's length in bytes.</summary>
    public uint Length { get; }

    /// <summary>Whether the device writes the buffer (<c>VIRTQ_DESC_F_WRITE</c>); otherwise it reads it.</summary>
    public bool IsWritable { get; }

    /// <inheritdoc />
    public override string ToString() => $"{(IsWritable ? "W" : "R")} 0x{Address:x}+{Length}";
}
