// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Devices.Input.Evdev;

namespace VirtioLoopback.Devices.Input;

/// <summary>
/// An immutable snapshot of what an evdev node says about itself: the material of the virtio-input
/// config space (virtio 1.2 §5.8.4). Swapped whole when the node is reopened.
/// </summary>
public sealed class InputDeviceInfo : IEquatable<InputDeviceInfo>
{
    /// <summary>The size of the config union: strings and bitmaps are at most this long.</summary>
    public const int UnionSize = 128;

    /// <summary>The bitmap answered for <c>EV_REP</c>: <c>REP_DELAY</c> and <c>REP_PERIOD</c>.</summary>
    /// <remarks>
    /// <c>EVIOCGBIT(EV_REP)</c> is refused by evdev (<c>EINVAL</c>), yet the Linux driver sets
    /// <c>EV_REP</c> only when this selection has a non-zero size, so the device answers with the two
    /// autorepeat parameters every repeating device has.
    /// </remarks>
    private static readonly byte[] RepeatBits = [(1 << InputEventCodes.RepDelay) | (1 << InputEventCodes.RepPeriod)];

    private readonly byte[] _name;
    private readonly byte[] _serial;
    private readonly byte[] _properties;
    private readonly byte[][] _eventBits;
    private readonly InputAbsInfo[] _abs;
    private readonly ulong _absPresent;

    private InputDeviceInfo(byte[] name, byte[] serial, InputDeviceIds ids, byte[] properties, byte[][] eventBits, InputAbsInfo[] abs, ulong absPresent)
    {
        _name = name;
        _serial = serial;
        Ids = ids;
        _properties = properties;
        _eventBits = eventBits;
        _abs = abs;
        _absPresent = absPresent;
    }

    /// <summary>The device name (<c>EVIOCGNAME</c>), without a NUL, at most 128 bytes.</summary>
    public ReadOnlySpan<byte> Name => _name;

    /// <summary>The unique id (<c>EVIOCGUNIQ</c>), empty when the device has none.</summary>
    public ReadOnlySpan<byte> Serial => _serial;

    /// <summary>Bus, vendor, product and version (<c>EVIOCGID</c>).</summary>
    public InputDeviceIds Ids { get; }

    /// <summary>The property bitmap (<c>EVIOCGPROP</c>), trimmed after its last non-zero byte.</summary>
    public ReadOnlySpan<byte> Properties => _properties;

    /// <summary>
    /// Reads everything from <paramref name="device"/>: identity, properties, the bitmap of every event
    /// type it supports (trimmed after the last non-zero byte) and the range of every absolute axis.
    /// </summary>
    /// <remarks>
    /// <c>EV_SYN</c> is implied by the protocol and not answered. Force feedback (<c>EV_FF</c>,
    /// <c>EV_FF_STATUS</c>) is left out: virtio-input has no way to upload effects.
    /// </remarks>
    public static InputDeviceInfo Read(IEvdevDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Span<byte> buffer = stackalloc byte[UnionSize];

        int n = device.GetName(buffer);
        byte[] name = n > 0 ? buffer[..Math.Min(n, UnionSize)].ToArray() : [];
        n = device.GetUniq(buffer);
        byte[] serial = n > 0 ? buffer[..Math.Min(n, UnionSize)].ToArray() : [];
        InputDeviceIds ids = device.GetIds();
        byte[] properties = ReadBitmap(device, -1, buffer);

        byte[][] bits = new byte[InputEventCodes.EvMax + 1][];
        Span<byte> types = stackalloc byte[(InputEventCodes.EvMax + 8) / 8];
        types.Clear();
        int typeBytes = device.GetEventBits(0, types);
        for (int type = 1; type <= InputEventCodes.EvMax; type++)
        {
            bits[type] = [];
            if (typeBytes <= type / 8 || (types[type / 8] & (1 << (type % 8))) == 0
                || type is InputEventCodes.EvFf or InputEventCodes.EvFfStatus)
            {
                continue;
            }

            bits[type] = type == InputEventCodes.EvRep ? RepeatBits : ReadBitmap(device, type, buffer);
        }

        bits[0] = [];
        InputAbsInfo[] abs = new InputAbsInfo[InputEventCodes.AbsMax + 1];
        ulong absPresent = 0;
        byte[] absBits = bits[InputEventCodes.EvAbs];
        for (int axis = 0; axis <= InputEventCodes.AbsMax; axis++)
        {
            if (axis / 8 < absBits.Length && (absBits[axis / 8] & (1 << (axis % 8))) != 0
                && device.TryGetAbsInfo(axis, out InputAbsInfo info))
            {
                abs[axis] = info;
                absPresent |= 1UL << axis;
            }
        }

        return new InputDeviceInfo(name, serial, ids, properties, bits, abs, absPresent);
    }

    /// <summary>
    /// A copy that also advertises <paramref name="code"/> of <paramref name="eventType"/> (a capability
    /// the back end adds, such as the sensitivity convention's <c>EV_MSC</c>/<c>MSC_RAW</c>).
    /// </summary>
    public InputDeviceInfo WithEventCode(int eventType, int code)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(eventType);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(eventType, InputEventCodes.EvMax);
        ArgumentOutOfRangeException.ThrowIfNegative(code);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(code, UnionSize * 8);
        if (HasCode(eventType, code))
        {
            return this;
        }

        byte[][] bits = (byte[][])_eventBits.Clone();
        byte[] old = _eventBits[eventType];
        byte[] grown = new byte[Math.Max(old.Length, (code / 8) + 1)];
        old.CopyTo(grown, 0);
        grown[code / 8] |= (byte)(1 << (code % 8));
        bits[eventType] = grown;
        return new InputDeviceInfo(_name, _serial, Ids, _properties, bits, _abs, _absPresent);
    }

    /// <summary>The trimmed bitmap of <paramref name="eventType"/>; empty when the device has none.</summary>
    public ReadOnlySpan<byte> GetEventBits(int eventType) =>
        (uint)eventType < (uint)_eventBits.Length ? _eventBits[eventType] : default;

    /// <summary>Whether the device reports events of <paramref name="eventType"/>.</summary>
    public bool HasEventType(int eventType) => !GetEventBits(eventType).IsEmpty;

    /// <summary>Whether <paramref name="code"/> is set in the bitmap of <paramref name="eventType"/>.</summary>
    public bool HasCode(int eventType, int code)
    {
        ReadOnlySpan<byte> bits = GetEventBits(eventType);
        return (uint)(code / 8) < (uint)bits.Length && (bits[code / 8] & (1 << (code % 8))) != 0;
    }

    /// <summary>The range of absolute axis <paramref name="axis"/> when the device has it.</summary>
    public bool TryGetAbsInfo(int axis, out InputAbsInfo info)
    {
        if ((uint)axis <= InputEventCodes.AbsMax && (_absPresent & (1UL << axis)) != 0)
        {
            info = _abs[axis];
            return true;
        }

        info = default;
        return false;
    }

    /// <summary>
    /// Whether both describe the same device to a driver: everything the config space shows
    /// (axis ranges, not current axis values).
    /// </summary>
    public bool Equals(InputDeviceInfo? other)
    {
        if (other is null)
        {
            return false;
        }

        if (!Name.SequenceEqual(other.Name) || !Serial.SequenceEqual(other.Serial) || Ids != other.Ids
            || !Properties.SequenceEqual(other.Properties) || _absPresent != other._absPresent)
        {
            return false;
        }

        for (int type = 0; type < _eventBits.Length; type++)
        {
            if (!_eventBits[type].AsSpan().SequenceEqual(other._eventBits[type]))
            {
                return false;
            }
        }

        for (int axis = 0; axis < _abs.Length; axis++)
        {
            if (!_abs[axis].SameRange(other._abs[axis]))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as InputDeviceInfo);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Ids, _absPresent, _name.Length, _eventBits[InputEventCodes.EvKey].Length);

    /// <summary>Reads a bitmap (type -1: properties) and trims it after its last non-zero byte.</summary>
    private static byte[] ReadBitmap(IEvdevDevice device, int eventType, Span<byte> buffer)
    {
        buffer.Clear();
        int n = eventType < 0 ? device.GetPropertyBits(buffer) : device.GetEventBits(eventType, buffer);
        if (n <= 0)
        {
            return [];
        }

        ReadOnlySpan<byte> filled = buffer[..Math.Min(n, buffer.Length)];
        int size = filled.LastIndexOfAnyExcept((byte)0) + 1;
        return filled[..size].ToArray();
    }
}
