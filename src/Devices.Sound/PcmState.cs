// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Sound;

/// <summary>A stream's state in the spec's PCM command lifecycle (virtio 1.2 §5.14.6.6.1).</summary>
internal enum PcmState
{
    /// <summary>No parameters yet.</summary>
    Initial,

    /// <summary>SET_PARAMS succeeded.</summary>
    ParamsSet,

    /// <summary>PREPARE succeeded: messages are taken and held until START.</summary>
    Prepared,

    /// <summary>START: the device's clock runs and consumes (or fills) the held messages.</summary>
    Running,

    /// <summary>STOP: the clock is paused; held messages wait for START or RELEASE.</summary>
    Stopped,

    /// <summary>RELEASE: the held messages were returned; SET_PARAMS or PREPARE may follow.</summary>
    Released,
}
