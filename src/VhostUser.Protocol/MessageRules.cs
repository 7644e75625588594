// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// The per-request table behind the validation gate: payload size, fd count and reply for every
/// request of vhost-user.rst, plus <see cref="ValidateFrontendRequest"/>/<see cref="ValidateBackendRequest"/>
/// which apply it (and each payload's <c>IsValid()</c>) to a received message. Feature gating
/// (is this request allowed with what was negotiated?) is the receiver's job.
/// </summary>
public static class MessageRules
{
    /// <summary>The largest payload any request may carry; also the channel's framing limit.</summary>
    public const int MaxPayloadSize = 4096;

    // IOTLB messages are struct vhost_iotlb_msg: 3 × u64 + 2 × u8, padded to 32 by C compilers;
    // accept both the packed and the padded length.
    private const int IotlbMinSize = 26;
    private const int IotlbMaxSize = 32;

    // Shared-object messages carry a 16-byte UUID; device-state transfer two u32s.
    private const int UuidSize = 16;

    private static readonly MessageRule[] FrontendRules = BuildFrontendRules();
    private static readonly MessageRule[] BackendRules = BuildBackendRules();

    /// <summary>The rule for <paramref name="request"/>.</summary>
    /// <returns><see langword="false"/> for an unknown request number.</returns>
    public static bool TryGet(FrontendRequest request, out MessageRule rule) => TryGet(FrontendRules, (uint)request, out rule);

    /// <summary>The rule for back-end request <paramref name="request"/>.</summary>
    /// <returns><see langword="false"/> for an unknown request number.</returns>
    public static bool TryGet(BackendRequest request, out MessageRule rule) => TryGet(BackendRules, (uint)request, out rule);

    /// <summary>
    /// Checks a received front-end request: no reply flag, known number, payload size and fd count
    /// per the table, and the payload's own validity. The header's version was checked by the channel.
    /// </summary>
    public static MessageError ValidateFrontendRequest(in VhostUserHeader header, ReadOnlySpan<byte> payload, int fdCount)
    {
        if (header.IsReply)
        {
            return MessageError.UnexpectedReply;
        }

        if (!TryGet(header.FrontendRequest, out MessageRule rule))
        {
            return MessageError.UnknownRequest;
        }

        MessageError error = CheckShape(rule, payload, fdCount);
        return error != MessageError.None ? error : CheckFrontendPayload(header.FrontendRequest, payload, fdCount);
    }

    /// <summary>Checks a received back-end request (the front end's side of the back-end channel).</summary>
    public static MessageError ValidateBackendRequest(in VhostUserHeader header, ReadOnlySpan<byte> payload, int fdCount)
    {
        if (header.IsReply)
        {
            return MessageError.UnexpectedReply;
        }

        if (!TryGet(header.BackendRequest, out MessageRule rule))
        {
            return MessageError.UnknownRequest;
        }

        MessageError error = CheckShape(rule, payload, fdCount);
        if (error != MessageError.None)
        {
            return error;
        }

        return header.BackendRequest == BackendRequest.VringHostNotifierMsg && !VringArea.Read(payload).IsValid()
            ? MessageError.InvalidPayload
            : MessageError.None;
    }

    private static bool TryGet(MessageRule[] table, uint request, out MessageRule rule)
    {
        if (request != 0 && request < (uint)table.Length)
        {
            rule = table[request];
            return true;
        }

        rule = default;
        return false;
    }

    private static MessageError CheckShape(in MessageRule rule, ReadOnlySpan<byte> payload, int fdCount)
    {
        if (!rule.AllowsSize(payload.Length))
        {
            return MessageError.WrongPayloadSize;
        }

        bool fdsOk = rule.Fds switch
        {
            FdRule.None => fdCount == 0,
            FdRule.One => fdCount == 1,
            FdRule.ZeroOrOne => fdCount <= 1,

            // Payload size was checked above, so the leading u64 is there.
            FdRule.OneUnlessNoFdFlag => fdCount == (VringIndexWithFd.Read(payload).NoFd ? 0 : 1),
            FdRule.OnePerRegion => (uint)fdCount == MemoryTable.Read(payload).Count,
            _ => false,
        };

        return fdsOk ? MessageError.None : MessageError.WrongFdCount;
    }

    private static MessageError CheckFrontendPayload(FrontendRequest request, ReadOnlySpan<byte> payload, int fdCount)
    {
        bool valid;
        switch (request)
        {
            case FrontendRequest.SetMemTable:
                MemoryTable table = MemoryTable.Read(payload);
                valid = table.IsValid() && payload.Length == MemoryTable.EncodedSizeFor((int)table.Count);
                break;
            case FrontendRequest.SetVringAddr:
                valid = VringAddress.Read(payload).IsValid();
                break;
            case FrontendRequest.SetVringNum:
            case FrontendRequest.SetVringBase:
            case FrontendRequest.GetVringBase:
            case FrontendRequest.VringKick:
                valid = VringState.Read(payload).IsValid();
                break;
            case FrontendRequest.SetVringEnable:
            case FrontendRequest.SetVringEndian:
                VringState state = VringState.Read(payload);
                valid = state.IsValid() && state.Num <= 1;
                break;
            case FrontendRequest.SetVringKick:
            case FrontendRequest.SetVringCall:
            case FrontendRequest.SetVringErr:
                valid = VringIndexWithFd.Read(payload).IsValid();
                break;
            case FrontendRequest.GetConfig:
            case FrontendRequest.SetConfig:
                ConfigSpace config = ConfigSpace.Read(payload);
                valid = config.IsValid() && payload.Length == config.EncodedSize;
                break;
            case FrontendRequest.GetInflightFd:
            case FrontendRequest.SetInflightFd:
                valid = InflightDescription.Read(payload).IsValid();
                break;
            case FrontendRequest.AddMemReg:
            case FrontendRequest.RemMemReg:
                valid = SingleMemoryRegion.Read(payload).IsValid();
                break;
            case FrontendRequest.SetLogBase:
                valid = fdCount == 0 || LogDescription.Read(payload).IsValid();
                break;
            case FrontendRequest.SetStatus:
                // The virtio device status is one byte.
                valid = U64Payload.Read(payload).Value <= byte.MaxValue;
                break;
            default:
                valid = true;
                break;
        }

        return valid ? MessageError.None : MessageError.InvalidPayload;
    }

    private static MessageRule[] BuildFrontendRules()
    {
        MessageRule none = MessageRule.Exact(0);
        MessageRule u64 = MessageRule.Exact(U64Payload.Size);
        MessageRule state = MessageRule.Exact(VringState.Size);
        MessageRule getU64 = MessageRule.Exact(0, hasReply: true);
        MessageRule vringFd = MessageRule.Exact(VringIndexWithFd.Size, FdRule.OneUnlessNoFdFlag);
        MessageRule config = new(ConfigSpace.HeaderSize, ConfigSpace.MaxSize, FdRule.None, HasReply: false);
        MessageRule inflight = new(InflightDescription.UnpaddedSize, InflightDescription.Size, FdRule.None, HasReply: false);

        var t = new MessageRule[(int)FrontendRequest.CheckDeviceState + 1];
        t[(int)FrontendRequest.GetFeatures] = getU64;
        t[(int)FrontendRequest.SetFeatures] = u64;
        t[(int)FrontendRequest.SetOwner] = none;
        t[(int)FrontendRequest.ResetOwner] = none;
        t[(int)FrontendRequest.SetMemTable] = new(MemoryTable.HeaderSize, MemoryTable.MaxSize, FdRule.OnePerRegion, HasReply: false);
        t[(int)FrontendRequest.SetLogBase] = MessageRule.Exact(LogDescription.Size, FdRule.ZeroOrOne);
        t[(int)FrontendRequest.SetLogFd] = MessageRule.Exact(0, FdRule.One);
        t[(int)FrontendRequest.SetVringNum] = state;
        t[(int)FrontendRequest.SetVringAddr] = MessageRule.Exact(VringAddress.Size);
        t[(int)FrontendRequest.SetVringBase] = state;
        t[(int)FrontendRequest.GetVringBase] = MessageRule.Exact(VringState.Size, hasReply: true);
        t[(int)FrontendRequest.SetVringKick] = vringFd;
        t[(int)FrontendRequest.SetVringCall] = vringFd;
        t[(int)FrontendRequest.SetVringErr] = vringFd;
        t[(int)FrontendRequest.GetProtocolFeatures] = getU64;
        t[(int)FrontendRequest.SetProtocolFeatures] = u64;
        t[(int)FrontendRequest.GetQueueNum] = getU64;
        t[(int)FrontendRequest.SetVringEnable] = state;
        t[(int)FrontendRequest.SendRarp] = u64;
        t[(int)FrontendRequest.NetSetMtu] = u64;
        t[(int)FrontendRequest.SetBackendReqFd] = MessageRule.Exact(0, FdRule.One);
        t[(int)FrontendRequest.IotlbMsg] = new(IotlbMinSize, IotlbMaxSize, FdRule.None, HasReply: true);
        t[(int)FrontendRequest.SetVringEndian] = state;
        t[(int)FrontendRequest.GetConfig] = config with { HasReply = true };
        t[(int)FrontendRequest.SetConfig] = config;
        t[(int)FrontendRequest.CreateCryptoSession] = new(0, MaxPayloadSize, FdRule.None, HasReply: true);
        t[(int)FrontendRequest.CloseCryptoSession] = u64;
        t[(int)FrontendRequest.PostcopyAdvise] = getU64;
        t[(int)FrontendRequest.PostcopyListen] = none;
        t[(int)FrontendRequest.PostcopyEnd] = getU64;
        t[(int)FrontendRequest.GetInflightFd] = inflight with { HasReply = true };
        t[(int)FrontendRequest.SetInflightFd] = inflight with { Fds = FdRule.One };
        t[(int)FrontendRequest.GpuSetSocket] = MessageRule.Exact(0, FdRule.One);
        t[(int)FrontendRequest.ResetDevice] = none;
        t[(int)FrontendRequest.VringKick] = state;
        t[(int)FrontendRequest.GetMaxMemSlots] = getU64;
        t[(int)FrontendRequest.AddMemReg] = MessageRule.Exact(SingleMemoryRegion.Size, FdRule.One);
        t[(int)FrontendRequest.RemMemReg] = MessageRule.Exact(SingleMemoryRegion.Size, FdRule.ZeroOrOne);
        t[(int)FrontendRequest.SetStatus] = u64;
        t[(int)FrontendRequest.GetStatus] = getU64;
        t[(int)FrontendRequest.GetSharedObject] = MessageRule.Exact(UuidSize, hasReply: true);
        t[(int)FrontendRequest.SetDeviceStateFd] = MessageRule.Exact(8, FdRule.One, hasReply: true);
        t[(int)FrontendRequest.CheckDeviceState] = getU64;
        return t;
    }

    private static MessageRule[] BuildBackendRules()
    {
        var t = new MessageRule[(int)BackendRequest.SharedObjectLookup + 1];
        t[(int)BackendRequest.IotlbMsg] = new(IotlbMinSize, IotlbMaxSize, FdRule.None, HasReply: false);
        t[(int)BackendRequest.ConfigChangeMsg] = MessageRule.Exact(0);
        t[(int)BackendRequest.VringHostNotifierMsg] = MessageRule.Exact(VringArea.Size, FdRule.OneUnlessNoFdFlag);
        t[(int)BackendRequest.VringCall] = MessageRule.Exact(VringState.Size);
        t[(int)BackendRequest.VringErr] = MessageRule.Exact(VringState.Size);
        t[(int)BackendRequest.SharedObjectAdd] = MessageRule.Exact(UuidSize);
        t[(int)BackendRequest.SharedObjectRemove] = MessageRule.Exact(UuidSize);
        t[(int)BackendRequest.SharedObjectLookup] = MessageRule.Exact(UuidSize, hasReply: true);
        return t;
    }
}
