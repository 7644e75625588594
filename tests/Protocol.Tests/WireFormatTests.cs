// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

/// <summary>Byte-exact encode/decode of the header and every payload struct.</summary>
[TestFixture]
public class WireFormatTests
{
    [TestCase(1u, 1u, 0u, "01000000" + "01000000" + "00000000")]
    [TestCase(5u, 9u, 0x48u, "05000000" + "09000000" + "48000000")]
    [TestCase(24u, 5u, 0x10cu, "18000000" + "05000000" + "0C010000")]
    [TestCase(0xdeadbeefu, 0x80000001u, 0xffffffffu, "EFBEADDE" + "01000080" + "FFFFFFFF")]
    public void Header_EncodesAndDecodes(uint request, uint flags, uint size, string hex)
    {
        byte[] expected = Convert.FromHexString(hex);
        var header = new VhostUserHeader(request, flags, size);
        byte[] buffer = new byte[VhostUserHeader.Size];
        header.Write(buffer);
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.That(VhostUserHeader.Read(expected), Is.EqualTo(header));
    }

    [TestCase(0x1u, true, false, false)]
    [TestCase(0x5u, true, true, false)]
    [TestCase(0x9u, true, false, true)]
    [TestCase(0x0u, false, false, false)]
    [TestCase(0x2u, false, false, false)]
    [TestCase(0x3u, false, false, false)]
    [TestCase(0xDu, true, true, true)]
    public void Header_FlagBits(uint flags, bool validVersion, bool reply, bool needReply)
    {
        var header = new VhostUserHeader(1, flags, 0);
        Assert.Multiple(() =>
        {
            Assert.That(header.HasValidVersion, Is.EqualTo(validVersion));
            Assert.That(header.IsValid(), Is.EqualTo(validVersion));
            Assert.That(header.IsReply, Is.EqualTo(reply));
            Assert.That(header.NeedsReply, Is.EqualTo(needReply));
        });
    }

    [Test]
    public void Header_Factories_SetVersionAndFlags()
    {
        Assert.Multiple(() =>
        {
            Assert.That(VhostUserHeader.ForRequest(FrontendRequest.SetOwner, 0, needReply: false).Flags, Is.EqualTo(0x1u));
            Assert.That(VhostUserHeader.ForRequest(FrontendRequest.SetOwner, 0, needReply: true).Flags, Is.EqualTo(0x9u));
            Assert.That(VhostUserHeader.ForReply(1, 8).Flags, Is.EqualTo(0x5u));
            Assert.That(VhostUserHeader.ForReply(1, 8).PayloadSize, Is.EqualTo(8u));
        });
    }

    [TestCase(0x0000000140000000ul, "0000004001000000")]
    [TestCase(0ul, "0000000000000000")]
    [TestCase(ulong.MaxValue, "FFFFFFFFFFFFFFFF")]
    public void U64_EncodesAndDecodes(ulong value, string hex)
    {
        byte[] expected = Convert.FromHexString(hex);
        byte[] buffer = new byte[U64Payload.Size];
        new U64Payload(value).Write(buffer);
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.That(U64Payload.Read(expected).Value, Is.EqualTo(value));
    }

    [TestCase(0u, 256u, "00000000" + "00010000")]
    [TestCase(3u, 0x12345678u, "03000000" + "78563412")]
    public void VringState_EncodesAndDecodes(uint index, uint num, string hex)
    {
        byte[] expected = Convert.FromHexString(hex);
        byte[] buffer = new byte[VringState.Size];
        new VringState(index, num).Write(buffer);
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.That(VringState.Read(expected), Is.EqualTo(new VringState(index, num)));
    }

    [Test]
    public void VringAddress_FieldOrderIsDescUsedAvailLog()
    {
        var address = new VringAddress(
            Index: 1,
            Flags: VringAddress.LogFlag,
            DescUserAddr: 0x1111_0000,
            UsedUserAddr: 0x2222_0000,
            AvailUserAddr: 0x3333_0000,
            LogGuestAddr: 0x4444_0000);
        byte[] expected = Convert.FromHexString(
            "01000000" + "01000000"
            + "0000111100000000" // descriptor table
            + "0000222200000000" // used ring
            + "0000333300000000" // available ring
            + "0000444400000000"); // log
        byte[] buffer = new byte[VringAddress.Size];
        address.Write(buffer);
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.That(VringAddress.Read(expected), Is.EqualTo(address));
        Assert.That(VringAddress.Size, Is.EqualTo(40));
    }

    [TestCase(0x1000ul, 0x2000ul, 0x3004ul, 0ul, 0u, true)]
    [TestCase(0x1008ul, 0x2000ul, 0x3004ul, 0ul, 0u, false)] // descriptor table not 16-aligned
    [TestCase(0x1000ul, 0x2002ul, 0x3004ul, 0ul, 0u, false)] // used ring not 4-aligned
    [TestCase(0x1000ul, 0x2000ul, 0x3001ul, 0ul, 0u, false)] // avail ring not 2-aligned
    [TestCase(0x1000ul, 0x2000ul, 0x3004ul, 0ul, 2u, false)] // unknown flag
    public void VringAddress_IsValid(ulong desc, ulong used, ulong avail, ulong log, uint flags, bool valid)
    {
        Assert.That(new VringAddress(0, flags, desc, used, avail, log).IsValid(), Is.EqualTo(valid));
        Assert.That(new VringAddress(256, 0, 0, 0, 0, 0).IsValid(), Is.False, "index beyond 8 bits");
    }

    [Test]
    public void MemoryRegion_EncodesAndDecodes()
    {
        var region = new MemoryRegion(0x0, 0x4000_0000, 0x7f00_0000_0000, 0x1000);
        byte[] expected = Convert.FromHexString(
            "0000000000000000" + "0000004000000000" + "00000000007F0000" + "0010000000000000");
        byte[] buffer = new byte[MemoryRegion.Size];
        region.Write(buffer);
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.That(MemoryRegion.Read(expected), Is.EqualTo(region));
    }

    [TestCase(0ul, 0x1000ul, 0ul, 0ul, true)]
    [TestCase(0ul, 0ul, 0ul, 0ul, false)] // empty
    [TestCase(ulong.MaxValue - 0xffful, 0x1000ul, 0ul, 0ul, true)] // ends exactly at 2^64 - 1
    [TestCase(ulong.MaxValue - 0xffeul, 0x1000ul, 0ul, 0ul, false)] // guest range wraps
    [TestCase(0ul, 0x1000ul, ulong.MaxValue, 0ul, false)] // user range wraps
    [TestCase(0ul, 0x1000ul, 0ul, 0x8000_0000_0000_0000ul, false)] // offset beyond off_t
    public void MemoryRegion_IsValid(ulong gpa, ulong size, ulong userAddr, ulong offset, bool valid) =>
        Assert.That(new MemoryRegion(gpa, size, userAddr, offset).IsValid(), Is.EqualTo(valid));

    [Test]
    public void MemoryTable_EncodesOnlyUsedRegions()
    {
        MemoryRegion[] regions =
        [
            new(0x0, 0x1000, 0xa000, 0),
            new(0x10000, 0x2000, 0xb000, 0x1000),
        ];
        var table = new MemoryTable(regions);
        byte[] buffer = new byte[MemoryTable.MaxSize];
        int size = table.Write(buffer);
        string expected =
            "02000000" + "00000000"
            + "0000000000000000" + "0010000000000000" + "00A0000000000000" + "0000000000000000"
            + "0000010000000000" + "0020000000000000" + "00B0000000000000" + "0010000000000000";
        Assert.That(size, Is.EqualTo(8 + (2 * 32)));
        Assert.That(Convert.ToHexString(buffer, 0, size), Is.EqualTo(expected));

        MemoryTable decoded = MemoryTable.Read(buffer.AsSpan(0, size));
        Assert.Multiple(() =>
        {
            Assert.That(decoded.Count, Is.EqualTo(2u));
            Assert.That(decoded[0], Is.EqualTo(regions[0]));
            Assert.That(decoded[1], Is.EqualTo(regions[1]));
            Assert.That(decoded.IsValid(), Is.True);
            Assert.That(MemoryTable.MaxSize, Is.EqualTo(264));
        });
    }

    [Test]
    public void MemoryTable_RejectsOverlapAndExcessCount()
    {
        MemoryRegion[] overlapping = [new(0x0, 0x2000, 0, 0), new(0x1000, 0x1000, 0x10000, 0)];
        Assert.That(new MemoryTable(overlapping).IsValid(), Is.False);

        byte[] hostile = new byte[MemoryTable.MaxSize];
        hostile[0] = 9; // count 9 > VHOST_MEMORY_BASELINE_NREGIONS
        MemoryTable decoded = MemoryTable.Read(hostile);
        Assert.That(decoded.Count, Is.EqualTo(9u));
        Assert.That(decoded.IsValid(), Is.False);
    }

    [Test]
    public void SingleMemoryRegion_HasLeadingPadding()
    {
        var region = new SingleMemoryRegion(new MemoryRegion(0x1000, 0x2000, 0x3000, 0x4000));
        byte[] buffer = new byte[SingleMemoryRegion.Size];
        buffer.AsSpan().Fill(0xcc);
        region.Write(buffer);
        Assert.That(
            Convert.ToHexString(buffer),
            Is.EqualTo("0000000000000000" + "0010000000000000" + "0020000000000000" + "0030000000000000" + "0040000000000000"));
        Assert.That(SingleMemoryRegion.Read(buffer), Is.EqualTo(region));
        Assert.That(SingleMemoryRegion.Size, Is.EqualTo(40));
    }

    [Test]
    public void ConfigSpace_HeaderAndData()
    {
        var config = new ConfigSpace(Offset: 0x14, Size: 4, Flags: ConfigSpace.FlagLiveMigration);
        byte[] buffer = new byte[ConfigSpace.MaxSize];
        int size = config.Write(buffer, [0xde, 0xad, 0xbe, 0xef]);
        Assert.That(size, Is.EqualTo(16));
        Assert.That(Convert.ToHexString(buffer, 0, size), Is.EqualTo("14000000" + "04000000" + "01000000" + "DEADBEEF"));
        ConfigSpace decoded = ConfigSpace.Read(buffer);
        Assert.That(decoded, Is.EqualTo(config));
        Assert.That(decoded.GetData(buffer.AsSpan(0, size)).ToArray(), Is.EqualTo(new byte[] { 0xde, 0xad, 0xbe, 0xef }));
    }

    [TestCase(0u, 256u, 0u, true)]
    [TestCase(0u, 257u, 0u, false)] // beyond VHOST_USER_MAX_CONFIG_SIZE
    [TestCase(200u, 57u, 0u, false)] // range ends past 256
    [TestCase(200u, 56u, 1u, true)]
    [TestCase(0u, 8u, 2u, false)] // unknown flags
    public void ConfigSpace_IsValid(uint offset, uint size, uint flags, bool valid) =>
        Assert.That(new ConfigSpace(offset, size, flags).IsValid(), Is.EqualTo(valid));

    [Test]
    public void InflightDescription_IsPaddedTo24Bytes()
    {
        var inflight = new InflightDescription(0x2000, 0x1000, 2, 256);
        byte[] buffer = new byte[InflightDescription.Size];
        buffer.AsSpan().Fill(0xcc);
        inflight.Write(buffer);
        Assert.That(
            Convert.ToHexString(buffer),
            Is.EqualTo("0020000000000000" + "0010000000000000" + "0200" + "0001" + "00000000"));
        Assert.That(InflightDescription.Read(buffer), Is.EqualTo(inflight));
        Assert.That(InflightDescription.Read(buffer.AsSpan(0, 20)), Is.EqualTo(inflight), "the unpadded form decodes too");
        Assert.That(new InflightDescription(0, 0, 0, 256).IsValid(), Is.False);
    }

    [TestCase(0x3ul, 3u, false, true)]
    [TestCase(0x100ul, 0u, true, true)]
    [TestCase(0x1fful, 0xffu, true, true)]
    [TestCase(0x200ul, 0u, false, false)] // reserved bit
    public void VringIndexWithFd_Bits(ulong value, uint index, bool noFd, bool valid)
    {
        var v = new VringIndexWithFd(value);
        Assert.Multiple(() =>
        {
            Assert.That(v.Index, Is.EqualTo(index));
            Assert.That(v.NoFd, Is.EqualTo(noFd));
            Assert.That(v.IsValid(), Is.EqualTo(valid));
        });
    }

    [Test]
    public void VringIndexWithFd_Create()
    {
        Assert.That(VringIndexWithFd.Create(5, hasFd: true).Value, Is.EqualTo(5ul));
        Assert.That(VringIndexWithFd.Create(5, hasFd: false).Value, Is.EqualTo(0x105ul));
        Assert.Throws<ArgumentOutOfRangeException>(() => VringIndexWithFd.Create(256, hasFd: true));
    }

    [Test]
    public void LogDescriptionAndVringArea_Encode()
    {
        byte[] log = new byte[LogDescription.Size];
        new LogDescription(0x1000, 0x20).Write(log);
        Assert.That(Convert.ToHexString(log), Is.EqualTo("0010000000000000" + "2000000000000000"));

        byte[] area = new byte[VringArea.Size];
        new VringArea(0x101, 0x1000, 0x3000).Write(area);
        Assert.That(Convert.ToHexString(area), Is.EqualTo("0101000000000000" + "0010000000000000" + "0030000000000000"));
        Assert.That(VringArea.Read(area), Is.EqualTo(new VringArea(0x101, 0x1000, 0x3000)));
    }

    [Test]
    public void Decoders_RejectShortInput()
    {
        Assert.Throws<ArgumentException>(() => VhostUserHeader.Read(new byte[11]));
        Assert.Throws<ArgumentException>(() => VringAddress.Read(new byte[39]));
        Assert.Throws<ArgumentException>(() => MemoryRegion.Read(new byte[31]));
        Assert.Throws<ArgumentException>(() => U64Payload.Read(new byte[7]));
    }

    [Test]
    public void RequestNumbers_MatchTheSpec()
    {
        Assert.Multiple(() =>
        {
            Assert.That((uint)FrontendRequest.GetFeatures, Is.EqualTo(1));
            Assert.That((uint)FrontendRequest.GetProtocolFeatures, Is.EqualTo(15));
            Assert.That((uint)FrontendRequest.SetBackendReqFd, Is.EqualTo(21));
            Assert.That((uint)FrontendRequest.GetConfig, Is.EqualTo(24));
            Assert.That((uint)FrontendRequest.GetInflightFd, Is.EqualTo(31));
            Assert.That((uint)FrontendRequest.ResetDevice, Is.EqualTo(34));
            Assert.That((uint)FrontendRequest.AddMemReg, Is.EqualTo(37));
            Assert.That((uint)FrontendRequest.GetStatus, Is.EqualTo(40));
            Assert.That((uint)FrontendRequest.CheckDeviceState, Is.EqualTo(43));
            Assert.That((uint)BackendRequest.ConfigChangeMsg, Is.EqualTo(2));
            Assert.That((uint)BackendRequest.SharedObjectLookup, Is.EqualTo(8));
            Assert.That(RequestNames.Describe(FrontendRequest.SetVringKick), Is.EqualTo("SET_VRING_KICK"));
            Assert.That(RequestNames.Describe((FrontendRequest)99), Is.EqualTo("UNKNOWN(99)"));
            Assert.That(RequestNames.Describe(BackendRequest.ConfigChangeMsg), Is.EqualTo("CONFIG_CHANGE_MSG"));
        });
    }
}
