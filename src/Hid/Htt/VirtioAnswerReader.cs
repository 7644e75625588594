// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Hid.Htt;

/// <summary>Collects an answer's values as they arrive (guest side).</summary>
public sealed class VirtioAnswerReader
{
    private ControllerType? _controller;
    private ushort? _firmwareLow;
    private ushort? _firmwareHigh;
    private ushort? _level;

    /// <summary>Takes one <c>EV_MSC</c>/<c>MSC_RAW</c> value; true once the answer is complete (a status arrived).</summary>
    public bool Add(int value, out SensitivityStatus status, out HttState? state)
    {
        ushort payload = VirtioInputConvention.Payload(value);
        status = default;
        state = null;
        switch (VirtioInputConvention.Tag(value))
        {
            case VirtioInputConvention.ControllerTag: _controller = (ControllerType)payload; break;
            case VirtioInputConvention.FirmwareLowTag: _firmwareLow = payload; break;
            case VirtioInputConvention.FirmwareHighTag: _firmwareHigh = payload; break;
            case VirtioInputConvention.LevelTag: _level = payload; break;
            case VirtioInputConvention.StatusTag:
                status = (SensitivityStatus)payload;
                if (_controller is { } c && _firmwareLow is { } lo && _firmwareHigh is { } hi && _level is { } l)
                {
                    state = new HttState(c, ((uint)hi << 16) | lo, l == VirtioInputConvention.NoLevel ? null : (SensitivityLevel)l);
                }

                Reset();
                return true;
        }

        return false;
    }

    /// <summary>Forgets a partial answer.</summary>
    public void Reset()
    {
        _controller = null;
        _firmwareLow = null;
        _firmwareHigh = null;
        _level = null;
    }
}
