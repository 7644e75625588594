// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Threading;
using VirtioLoopback.Devices.Input.Evdev;

namespace VirtioLoopback.Devices.Input;

/// <summary>The <c>select</c> values of <c>struct virtio_input_config</c> (virtio 1.2 §5.8.4).</summary>
public enum InputConfigSelect : byte
{
    /// <summary><c>VIRTIO_INPUT_CFG_UNSET</c>.</summary>
    Unset = 0x00,

    /// <summary><c>VIRTIO_INPUT_CFG_ID_NAME</c>: the name, a string.</summary>
    IdName = 0x01,

    /// <summary><c>VIRTIO_INPUT_CFG_ID_SERIAL</c>: the serial number, a string.</summary>
    IdSerial = 0x02,

    /// <summary><c>VIRTIO_INPUT_CFG_ID_DEVIDS</c>: <c>struct virtio_input_devids</c>.</summary>
    IdDevids = 0x03,

    /// <summary><c>VIRTIO_INPUT_CFG_PROP_BITS</c>: the property bitmap.</summary>
    PropBits = 0x10,

    /// <summary><c>VIRTIO_INPUT_CFG_EV_BITS</c>: the bitmap of event type <c>subsel</c>.</summary>
    EvBits = 0x11,

    /// <summary><c>VIRTIO_INPUT_CFG_ABS_INFO</c>: <c>struct virtio_input_absinfo</c> of axis <c>subsel</c>.</summary>
    AbsInfo = 0x12,
}

/// <summary>
/// The virtio-input config space: 136 bytes, <c>{ u8 select; u8 subsel; u8 size; u8 reserved[5];
/// union u[128]; }</c>. The driver writes <c>select</c> and <c>subsel</c>, then reads <c>size</c> and the
/// union, which this class recomputes on every write.
/// </summary>
/// <remarks>
/// Thread-safe: config reads and writes come from the control thread while the event queue's thread
/// may swap in a new <see cref="InputDeviceInfo"/> after a reopen; one lock guards both.
/// </remarks>
public sealed class InputConfigSpace
{
    /// <summary><c>sizeof(struct virtio_input_config)</c>.</summary>
    public const int Size = 136;

    /// <summary>The offset of <c>select</c>.</summary>
    public const int SelectOffset = 0;

    /// <summary>The offset of <c>subsel</c>.</summary>
    public const int SubselOffset = 1;

    /// <summary>The offset of <c>size</c>.</summary>
    public const int SizeOffset = 2;

    /// <summary>The offset of the union.</summary>
    public const int UnionOffset = 8;

    /// <summary><c>sizeof(struct virtio_input_absinfo)</c>: five le32 fields.</summary>
    public const int AbsInfoSize = 20;

    /// <summary><c>sizeof(struct virtio_input_devids)</c>: four le16 fields.</summary>
    public const int DevidsSize = 8;

    private readonly Lock _lock = new();
    private readonly byte[] _bytes = new byte[Size];
    private InputDeviceInfo _info;

    /// <summary>Creates the config space of <paramref name="info"/> with nothing selected.</summary>
    public InputConfigSpace(InputDeviceInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        _info = info;
    }

    /// <summary>The device description answered now.</summary>
    public InputDeviceInfo Info
    {
        get
        {
            lock (_lock)
            {
                return _info;
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="config"/> (136 bytes) with the answer to <paramref name="select"/> and
    /// <paramref name="subsel"/>: an unknown selection has size 0 and a zero union.
    /// </summary>
    public static void Compose(InputDeviceInfo info, byte select, byte subsel, Span<byte> config)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentOutOfRangeException.ThrowIfLessThan(config.Length, Size, nameof(config));
        config[..Size].Clear();
        config[SelectOffset] = select;
        config[SubselOffset] = subsel;
        Span<byte> union = config.Slice(UnionOffset, InputDeviceInfo.UnionSize);
        int size = 0;
        switch ((InputConfigSelect)select)
        {
            case InputConfigSelect.IdName when subsel == 0:
                size = Copy(info.Name, union);
                break;
            case InputConfigSelect.IdSerial when subsel == 0:
                size = Copy(info.Serial, union);
                break;
            case InputConfigSelect.IdDevids when subsel == 0:
                InputDeviceIds ids = info.Ids;
                BinaryPrimitives.WriteUInt16LittleEndian(union, ids.BusType);
                BinaryPrimitives.WriteUInt16LittleEndian(union[2..], ids.Vendor);
                BinaryPrimitives.WriteUInt16LittleEndian(union[4..], ids.Product);
                BinaryPrimitives.WriteUInt16LittleEndian(union[6..], ids.Version);
                size = DevidsSize;
                break;
            case InputConfigSelect.PropBits when subsel == 0:
                size = Copy(info.Properties, union);
                break;
            case InputConfigSelect.EvBits when subsel != InputEventCodes.EvSyn:
                size = Copy(info.GetEventBits(subsel), union);
                break;
            case InputConfigSelect.AbsInfo:
                if (info.TryGetAbsInfo(subsel, out InputAbsInfo abs))
                {
                    BinaryPrimitives.WriteInt32LittleEndian(union, abs.Minimum);
                    BinaryPrimitives.WriteInt32LittleEndian(union[4..], abs.Maximum);
                    BinaryPrimitives.WriteInt32LittleEndian(union[8..], abs.Fuzz);
                    BinaryPrimitives.WriteInt32LittleEndian(union[12..], abs.Flat);
                    BinaryPrimitives.WriteInt32LittleEndian(union[16..], abs.Resolution);
                    size = AbsInfoSize;
                }

                break;
        }

        config[SizeOffset] = (byte)size;
    }

    /// <summary>Copies config bytes at <paramref name="offset"/>; bytes past the end read as zero.</summary>
    public void Read(int offset, Span<byte> destination)
    {
        destination.Clear();
        if ((uint)offset >= Size)
        {
            return;
        }

        lock (_lock)
        {
            ReadOnlySpan<byte> source = _bytes.AsSpan(offset);
            source[..Math.Min(source.Length, destination.Length)].CopyTo(destination);
        }
    }

    /// <summary>
    /// Applies a driver write. Only <c>select</c> and <c>subsel</c> are writable; other bytes in the
    /// range are ignored (QEMU writes the whole 136 bytes with the selection in front).
    /// </summary>
    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset > SubselOffset || data.IsEmpty)
        {
            return;
        }

        lock (_lock)
        {
            byte select = _bytes[SelectOffset];
            byte subsel = _bytes[SubselOffset];
            for (int i = 0; i < data.Length && offset + i <= SubselOffset; i++)
            {
                if (offset + i == SelectOffset)
                {
                    select = data[i];
                }
                else
                {
                    subsel = data[i];
                }
            }

            Compose(_info, select, subsel, _bytes);
        }
    }

    /// <summary>Returns to the power-on state: nothing selected.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            Compose(_info, 0, 0, _bytes);
        }
    }

    /// <summary>
    /// Answers from <paramref name="info"/> from now on, keeping the driver's selection.
    /// Returns true when the description differs from the previous one.
    /// </summary>
    public bool Update(InputDeviceInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        lock (_lock)
        {
            bool changed = !_info.Equals(info);
            _info = info;
            Compose(_info, _bytes[SelectOffset], _bytes[SubselOffset], _bytes);
            return changed;
        }
    }

    private static int Copy(ReadOnlySpan<byte> value, Span<byte> union)
    {
        int n = Math.Min(value.Length, union.Length);
        value[..n].CopyTo(union);
        return n;
    }
}
