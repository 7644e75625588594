// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;

namespace VirtioLoopback.Hid.Htt;

/// <summary>The HTT feature reports over one open hidraw node.</summary>
/// <param name="device">The node; not owned.</param>
public sealed class HttDisplay(IHidrawDevice device)
{
    private readonly IHidrawDevice _device = device ?? throw new ArgumentNullException(nameof(device));

    /// <summary>Reads report 4: the touch controller type.</summary>
    /// <exception cref="Sys.SysException">The ioctl failed.</exception>
    /// <exception cref="HttProtocolException">The reply is too short.</exception>
    public ControllerType ReadControllerType()
    {
        Span<byte> report = stackalloc byte[HttProtocol.ControllerTypeLength];
        Get(HttProtocol.ControllerTypeReport, report);
        return (ControllerType)report[1];
    }

    /// <summary>Reads report 9: the firmware revision.</summary>
    public uint ReadFirmware()
    {
        Span<byte> report = stackalloc byte[HttProtocol.FirmwareLength];
        Get(HttProtocol.FirmwareReport, report);
        return BinaryPrimitives.ReadUInt32LittleEndian(report[1..]);
    }

    /// <summary>Reads report 7: the sensitivity level (as the display reports it; may be out of range).</summary>
    public SensitivityLevel ReadSensitivity()
    {
        Span<byte> report = stackalloc byte[HttProtocol.SensitivityLength];
        Get(HttProtocol.SensitivityReport, report);
        return (SensitivityLevel)report[1];
    }

    /// <summary>Reads the type, the firmware and (when the controller has one) the sensitivity.</summary>
    public HttState ReadState()
    {
        ControllerType type = ReadControllerType();
        uint firmware = ReadFirmware();
        SensitivityLevel? level = HttProtocol.HasSensitivity(type) ? ReadSensitivity() : null;
        return new HttState(type, firmware, level);
    }

    /// <summary>Writes report 7. The display reboots afterwards; nothing acknowledges the write.</summary>
    public void WriteSensitivity(SensitivityLevel level)
    {
        HttProtocol.CheckLevel(level);
        Span<byte> report = [HttProtocol.SensitivityReport, (byte)level];
        _device.SetFeature(report);
    }

    private void Get(byte reportId, Span<byte> report)
    {
        report.Clear();
        report[0] = reportId;
        int n = _device.GetFeature(report);
        if (n < report.Length)
        {
            throw new HttProtocolException($"feature report {reportId}: {n} bytes, expected {report.Length}");
        }

        if (report[0] != reportId)
        {
            throw new HttProtocolException($"feature report {reportId}: the reply is report {report[0]}");
        }
    }
}
