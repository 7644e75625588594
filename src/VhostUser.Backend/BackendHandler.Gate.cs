// SPDX-License-Identifier: MIT
using System;
using System.Numerics;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The validation gate, second half. <see cref="VhostUserChannel.TryReceiveFrontendRequest"/> has
/// already checked the version bits, the request number, the payload size and fd count of the
/// request's rule, and the payload's own <c>IsValid()</c>; here come the checks that need session
/// or device state, before any handler runs.
/// </summary>
public sealed partial class BackendHandler
{
    /// <summary>Returns why <paramref name="request"/> must be refused now, or null.</summary>
    private string? CheckRequest(FrontendRequest request, ReadOnlySpan<byte> payload)
    {
        if (!IsSupported(request))
        {
            return "not supported by this back end";
        }

        ProtocolFeatures needed = RequiredProtocolFeature(request);
        if (needed != ProtocolFeatures.None && (_protocolFeatures & needed) == 0)
        {
            return $"needs protocol feature {needed}, which was not negotiated";
        }

        if (IsPerQueue(request))
        {
            // The first u32 (VringState, VringAddress) or the low byte of the u64 (kick/call/err) is the index.
            uint index = request is FrontendRequest.SetVringKick or FrontendRequest.SetVringCall or FrontendRequest.SetVringErr
                ? VringIndexWithFd.Read(payload).Index
                : VringState.Read(payload[..VringState.Size]).Index;
            if (index >= (uint)_vrings.Length)
            {
                return $"queue index {index} is out of range (the device has {_vrings.Length} queues)";
            }
        }

        switch (request)
        {
            case FrontendRequest.SetVringNum:
                uint num = VringState.Read(payload).Num;
                if (num == 0 || num > _device.MaxQueueSize || !BitOperations.IsPow2(num))
                {
                    return $"queue size {num} is not a power of two between 1 and {_device.MaxQueueSize}";
                }

                break;
            case FrontendRequest.SetVringBase:
                // Split rings only: the base is a 16-bit index (packed rings would add a wrap bit).
                if (VringState.Read(payload).Num > ushort.MaxValue)
                {
                    return $"vring base {VringState.Read(payload).Num} does not fit 16 bits";
                }

                break;
        }

        return null;
    }

    /// <summary>The requests this back end implements; the rest are answered with failure.</summary>
    private static bool IsSupported(FrontendRequest request) => request switch
    {
        FrontendRequest.GetFeatures or FrontendRequest.SetFeatures or FrontendRequest.SetOwner
            or FrontendRequest.ResetOwner or FrontendRequest.SetMemTable or FrontendRequest.SetVringNum
            or FrontendRequest.SetVringAddr or FrontendRequest.SetVringBase or FrontendRequest.GetVringBase
            or FrontendRequest.SetVringKick or FrontendRequest.SetVringCall or FrontendRequest.SetVringErr
            or FrontendRequest.GetProtocolFeatures or FrontendRequest.SetProtocolFeatures
            or FrontendRequest.GetQueueNum or FrontendRequest.SetVringEnable or FrontendRequest.SetBackendReqFd
            or FrontendRequest.GetConfig or FrontendRequest.SetConfig or FrontendRequest.GetInflightFd
            or FrontendRequest.SetInflightFd or FrontendRequest.ResetDevice or FrontendRequest.GetMaxMemSlots
            or FrontendRequest.AddMemReg or FrontendRequest.RemMemReg or FrontendRequest.SetStatus
            or FrontendRequest.GetStatus => true,
        _ => false,
    };

    /// <summary>The protocol feature a request belongs to (vhost-user.rst names it in each request's text).</summary>
    private static ProtocolFeatures RequiredProtocolFeature(FrontendRequest request) => request switch
    {
        FrontendRequest.GetQueueNum => ProtocolFeatures.Mq,
        FrontendRequest.GetConfig or FrontendRequest.SetConfig => ProtocolFeatures.Config,
        FrontendRequest.SetBackendReqFd => ProtocolFeatures.BackendReq,
        FrontendRequest.GetInflightFd or FrontendRequest.SetInflightFd => ProtocolFeatures.InflightShmfd,
        FrontendRequest.ResetDevice => ProtocolFeatures.ResetDevice,
        FrontendRequest.GetMaxMemSlots or FrontendRequest.AddMemReg or FrontendRequest.RemMemReg => ProtocolFeatures.ConfigureMemSlots,
        FrontendRequest.GetStatus or FrontendRequest.SetStatus => ProtocolFeatures.Status,
        _ => ProtocolFeatures.None,
    };

    private static bool IsPerQueue(FrontendRequest request) => request is FrontendRequest.SetVringNum
        or FrontendRequest.SetVringAddr or FrontendRequest.SetVringBase or FrontendRequest.GetVringBase
        or FrontendRequest.SetVringKick or FrontendRequest.SetVringCall or FrontendRequest.SetVringErr
        or FrontendRequest.SetVringEnable;
}
