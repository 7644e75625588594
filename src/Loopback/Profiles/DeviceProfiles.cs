// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace VirtioLoopback.Loopback.Profiles;

/// <summary>The device types the adapter knows by name, and the generic profile for every other ID.</summary>
public static class DeviceProfiles
{
    private static readonly (string Name, uint Id, Func<DeviceProfile> Create)[] Known =
    [
        ("net", NetProfile.Id, () => new NetProfile()),
        ("blk", BlkProfile.Id, () => new BlkProfile()),
        ("console", ConsoleProfile.Id, () => new ConsoleProfile()),
        ("rng", RngProfile.Id, () => new RngProfile()),
        ("input", InputProfile.Id, () => new InputProfile()),
        ("vsock", VsockProfile.Id, () => new VsockProfile()),
        ("sound", SoundProfile.Id, () => new SoundProfile()),
        ("fs", FsProfile.Id, () => new FsProfile()),
        ("scmi", ScmiProfile.Id, () => new ScmiProfile()),
        ("i2c", I2cProfile.Id, () => new I2cProfile()),
        ("gpio", GpioProfile.Id, () => new GpioProfile()),
    ];

    /// <summary>The type names, in device-ID order, as <c>--device</c> takes them.</summary>
    public static string Names
    {
        get
        {
            var names = new StringBuilder();
            foreach ((string name, _, _) in Known)
            {
                names.Append(names.Length == 0 ? string.Empty : ", ").Append(name);
            }

            return names.ToString();
        }
    }

    /// <summary>
    /// The profile for <c>--device TYPE</c>: a name, or a virtio device ID from 1 to 255 (an ID with a
    /// name gets that type's profile, any other the generic one). Null when TYPE is neither.
    /// </summary>
    public static DeviceProfile? Create(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        foreach ((string name, _, Func<DeviceProfile> create) in Known)
        {
            if (name == type)
            {
                return create();
            }
        }

        return uint.TryParse(type, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id is > 0 and < 256 ? ForId(id) : null;
    }

    /// <summary>The profile of device ID <paramref name="deviceId"/>, with no options set.</summary>
    public static DeviceProfile ForId(uint deviceId)
    {
        foreach ((_, uint id, Func<DeviceProfile> create) in Known)
        {
            if (id == deviceId)
            {
                return create();
            }
        }

        return new RawProfile(deviceId);
    }

    /// <summary>Whether any type takes <paramref name="option"/>.</summary>
    public static bool IsTypeOption(string option)
    {
        foreach (DeviceProfile p in All())
        {
            if (p.Takes(option))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The types that take <paramref name="option"/>, for an error message.</summary>
    public static string TypesTaking(string option)
    {
        var names = new StringBuilder();
        foreach (DeviceProfile p in All())
        {
            if (p.Takes(option))
            {
                names.Append(names.Length == 0 ? string.Empty : ", ").Append(p.Name);
            }
        }

        return names.ToString();
    }

    /// <summary>The <c>--help</c> lines of the device types: each with its options, and what the generic one takes.</summary>
    public static string Help()
    {
        var text = new StringBuilder();
        foreach (DeviceProfile p in All())
        {
            text.Append(CultureInfo.InvariantCulture, $"  {p.Name,-8} ")
                .Append(p is RawProfile ? "any other virtio device ID (1 to 255)" : $"ID {p.DeviceId}")
                .Append(CultureInfo.InvariantCulture, $", queue size {p.DefaultQueueSize}")
                .Append(p.BackendConfig == BackendConfig.Required ? ", config from the back end" : string.Empty)
                .Append('\n');
            foreach (ProfileOption o in p.Options)
            {
                text.Append(CultureInfo.InvariantCulture, $"           {o.Name + " " + o.Value,-22} {o.Help}\n");
            }
        }

        return text.ToString().TrimEnd('\n');
    }

    private static IEnumerable<DeviceProfile> All()
    {
        foreach ((_, _, Func<DeviceProfile> create) in Known)
        {
            yield return create();
        }

        yield return new RawProfile(0);
    }
}
