// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>The per-request validation table: sizes, fd counts, the no-fd bit, payload validity.</summary>
[TestFixture]
public class MessageRulesTests
{
    [TestCase(FrontendRequest.GetFeatures, 0, 0, MessageError.None)]
    [TestCase(FrontendRequest.GetFeatures, 8, 0, MessageError.WrongPayloadSize)]
    [TestCase(FrontendRequest.SetFeatures, 8, 0, MessageError.None)]
    [TestCase(FrontendRequest.SetFeatures, 4, 0, MessageError.WrongPayloadSize)]
    [TestCase(FrontendRequest.SetFeatures, 8, 1, MessageError.WrongFdCount)]
    [TestCase(FrontendRequest.SetOwner, 0, 0, MessageError.None)]
    [TestCase(FrontendRequest.SetVringNum, 8, 0, MessageError.None)]
    [TestCase(FrontendRequest.SetVringNum, 12, 0, MessageError.WrongPayloadSize)]
    [TestCase(FrontendRequest.SetVringAddr, 39, 0, MessageError.WrongPayloadSize)]
    [TestCase(FrontendRequest.SetBackendReqFd, 0, 1, MessageError.None)]
    [TestCase(FrontendRequest.SetBackendReqFd, 0, 0, MessageError.WrongFdCount)]
    [TestCase(FrontendRequest.SetBackendReqFd, 0, 2, MessageError.WrongFdCount)]
    [TestCase(FrontendRequest.SetLogFd, 0, 1, MessageError.None)]
    [TestCase(FrontendRequest.AddMemReg, 40, 0, MessageError.WrongFdCount)]
    [TestCase(FrontendRequest.RemMemReg, 40, 2, MessageError.WrongFdCount)]
    [TestCase(FrontendRequest.GetMaxMemSlots, 0, 0, MessageError.None)]
    [TestCase(FrontendRequest.ResetDevice, 0, 0, MessageError.None)]
    [TestCase(FrontendRequest.GetConfig, 11, 0, MessageError.WrongPayloadSize)]
    [TestCase(FrontendRequest.GetConfig, 269, 0, MessageError.WrongPayloadSize)]
    [TestCase(FrontendRequest.GetStatus, 0, 0, MessageError.None)]
    [TestCase((FrontendRequest)0, 0, 0, MessageError.UnknownRequest)]
    [TestCase((FrontendRequest)44, 0, 0, MessageError.UnknownRequest)]
    public void Frontend_SizeAndFdRules(FrontendRequest request, int size, int fds, MessageError expected)
    {
        // Zero bytes make a valid payload for every fixed-shape request used above.
        byte[] payload = new byte[size];
        var header = VhostUserHeader.ForRequest((uint)request, size, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, fds), Is.EqualTo(expected));
    }

    [Test]
    public void Frontend_AddMemReg_NeedsOneFdAndAValidRegion()
    {
        byte[] payload = new byte[SingleMemoryRegion.Size];
        new SingleMemoryRegion(new MemoryRegion(0, 0x1000, 0x1000, 0)).Write(payload);
        var header = VhostUserHeader.ForRequest(FrontendRequest.AddMemReg, payload.Length, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, 1), Is.EqualTo(MessageError.None));

        new SingleMemoryRegion(new MemoryRegion(0, 0, 0x1000, 0)).Write(payload);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, 1), Is.EqualTo(MessageError.InvalidPayload));
    }

    [TestCase(0x0ul, 1, MessageError.None)]
    [TestCase(0x0ul, 0, MessageError.WrongFdCount)]
    [TestCase(0x100ul, 0, MessageError.None)] // no-fd bit: polling, no descriptor
    [TestCase(0x100ul, 1, MessageError.WrongFdCount)]
    [TestCase(0x205ul, 1, MessageError.InvalidPayload)] // reserved bit set
    public void Frontend_VringFdRequests_HonourTheNoFdBit(ulong value, int fds, MessageError expected)
    {
        byte[] payload = new byte[8];
        new U64Payload(value).Write(payload);
        foreach (FrontendRequest request in new[] { FrontendRequest.SetVringKick, FrontendRequest.SetVringCall, FrontendRequest.SetVringErr })
        {
            var header = VhostUserHeader.ForRequest(request, 8, needReply: false);
            Assert.That(MessageRules.ValidateFrontendRequest(header, payload, fds), Is.EqualTo(expected), request.ToString());
        }
    }

    [TestCase(0, 0, MessageError.None)]
    [TestCase(1, 1, MessageError.None)]
    [TestCase(2, 2, MessageError.None)]
    [TestCase(8, 8, MessageError.None)]
    [TestCase(2, 1, MessageError.WrongFdCount)]
    [TestCase(2, 3, MessageError.WrongFdCount)]
    public void Frontend_SetMemTable_NeedsOneFdPerRegion(int regions, int fds, MessageError expected)
    {
        var list = new MemoryRegion[regions];
        for (int i = 0; i < regions; i++)
        {
            list[i] = new MemoryRegion((ulong)i * 0x10000, 0x10000, 0x7000_0000 + ((ulong)i * 0x10000), 0);
        }

        byte[] payload = new byte[MemoryTable.MaxSize];
        int size = new MemoryTable(list).Write(payload);
        var header = VhostUserHeader.ForRequest(FrontendRequest.SetMemTable, size, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload.AsSpan(0, size), fds), Is.EqualTo(expected));
    }

    [Test]
    public void Frontend_SetMemTable_CountMustMatchSize()
    {
        byte[] payload = new byte[MemoryTable.EncodedSizeFor(2)];
        new MemoryTable([new MemoryRegion(0, 0x1000, 0, 0), new MemoryRegion(0x1000, 0x1000, 0x1000, 0)]).Write(payload);
        payload[0] = 1; // claims one region, carries two
        var header = VhostUserHeader.ForRequest(FrontendRequest.SetMemTable, payload.Length, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, 1), Is.EqualTo(MessageError.InvalidPayload));

        payload[0] = 9; // more than VHOST_MEMORY_BASELINE_NREGIONS
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, 2), Is.Not.EqualTo(MessageError.None));
    }

    [TestCase(0u, 0u, MessageError.None)]
    [TestCase(0u, 1u, MessageError.None)]
    [TestCase(0u, 2u, MessageError.InvalidPayload)]
    [TestCase(256u, 1u, MessageError.InvalidPayload)]
    public void Frontend_SetVringEnable_NumIsABoolean(uint index, uint num, MessageError expected)
    {
        byte[] payload = new byte[VringState.Size];
        new VringState(index, num).Write(payload);
        var header = VhostUserHeader.ForRequest(FrontendRequest.SetVringEnable, payload.Length, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, 0), Is.EqualTo(expected));
    }

    [TestCase(0u, 4u, 16, MessageError.None)]
    [TestCase(0u, 4u, 20, MessageError.InvalidPayload)] // size field and payload length disagree
    [TestCase(0u, 300u, 268, MessageError.InvalidPayload)]
    public void Frontend_Config_SizeFieldMatchesPayload(uint offset, uint size, int length, MessageError expected)
    {
        byte[] payload = new byte[length];
        new ConfigSpace(offset, size, 0).Write(payload);
        var header = VhostUserHeader.ForRequest(FrontendRequest.SetConfig, length, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload, 0), Is.EqualTo(expected));
    }

    [Test]
    public void Frontend_ReplyFlagOnARequestIsRejected()
    {
        var header = VhostUserHeader.ForReply((uint)FrontendRequest.SetOwner, 0);
        Assert.That(MessageRules.ValidateFrontendRequest(header, ReadOnlySpan<byte>.Empty, 0), Is.EqualTo(MessageError.UnexpectedReply));
    }

    [TestCase(20, MessageError.None)]
    [TestCase(24, MessageError.None)]
    [TestCase(16, MessageError.WrongPayloadSize)]
    public void Frontend_Inflight_AcceptsPaddedAndUnpadded(int size, MessageError expected)
    {
        byte[] payload = new byte[InflightDescription.Size];
        new InflightDescription(0, 0, 1, 128).Write(payload);
        var header = VhostUserHeader.ForRequest(FrontendRequest.GetInflightFd, size, needReply: false);
        Assert.That(MessageRules.ValidateFrontendRequest(header, payload.AsSpan(0, size), 0), Is.EqualTo(expected));
    }

    [TestCase(FrontendRequest.GetFeatures, true)]
    [TestCase(FrontendRequest.GetProtocolFeatures, true)]
    [TestCase(FrontendRequest.GetVringBase, true)]
    [TestCase(FrontendRequest.GetConfig, true)]
    [TestCase(FrontendRequest.GetInflightFd, true)]
    [TestCase(FrontendRequest.GetStatus, true)]
    [TestCase(FrontendRequest.SetFeatures, false)]
    [TestCase(FrontendRequest.SetMemTable, false)]
    [TestCase(FrontendRequest.SetVringKick, false)]
    [TestCase(FrontendRequest.SetConfig, false)]
    public void Rules_KnowWhichRequestsHaveAReplyBody(FrontendRequest request, bool hasReply)
    {
        Assert.That(MessageRules.TryGet(request, out MessageRule rule), Is.True);
        Assert.That(rule.HasReply, Is.EqualTo(hasReply));
    }

    [Test]
    public void Rules_CoverEveryFrontendRequest()
    {
        foreach (FrontendRequest request in Enum.GetValues<FrontendRequest>())
        {
            Assert.That(MessageRules.TryGet(request, out _), Is.EqualTo(request != FrontendRequest.None), request.ToString());
        }

        foreach (BackendRequest request in Enum.GetValues<BackendRequest>())
        {
            Assert.That(MessageRules.TryGet(request, out _), Is.EqualTo(request != BackendRequest.None), request.ToString());
        }
    }

    [TestCase(BackendRequest.ConfigChangeMsg, 0, 0, MessageError.None)]
    [TestCase(BackendRequest.ConfigChangeMsg, 8, 0, MessageError.WrongPayloadSize)]
    [TestCase(BackendRequest.ConfigChangeMsg, 0, 1, MessageError.WrongFdCount)]
    [TestCase(BackendRequest.VringCall, 8, 0, MessageError.None)]
    [TestCase((BackendRequest)9, 0, 0, MessageError.UnknownRequest)]
    public void Backend_Rules(BackendRequest request, int size, int fds, MessageError expected)
    {
        var header = VhostUserHeader.ForRequest((uint)request, size, needReply: true);
        Assert.That(MessageRules.ValidateBackendRequest(header, new byte[size], fds), Is.EqualTo(expected));
    }

    [Test]
    public void Backend_HostNotifier_HonoursTheNoFdBit()
    {
        byte[] payload = new byte[VringArea.Size];
        var header = VhostUserHeader.ForRequest((uint)BackendRequest.VringHostNotifierMsg, payload.Length, needReply: false);
        new VringArea(0x1, 0x1000, 0).Write(payload);
        Assert.That(MessageRules.ValidateBackendRequest(header, payload, 1), Is.EqualTo(MessageError.None));
        Assert.That(MessageRules.ValidateBackendRequest(header, payload, 0), Is.EqualTo(MessageError.WrongFdCount));
        new VringArea(0x101, 0, 0).Write(payload);
        Assert.That(MessageRules.ValidateBackendRequest(header, payload, 0), Is.EqualTo(MessageError.None));
    }
}
