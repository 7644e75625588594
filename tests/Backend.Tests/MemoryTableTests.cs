// SPDX-License-Identifier: MIT
using System;
using NUnit.Framework;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.VhostUser.Frontend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class MemoryTableTests
{
    [Test]
    public void SetMemTable_MapsTheRegionsTheFdsDescribe()
    {
        using var h = new BackendHarness(negotiate: false);
        h.Frontend.SetProtocolFeatures(ProtocolFeatures.ReplyAck);
        h.SetMemTable();
        var map = h.Handler.Vrings[0].Memory;
        Assert.That(map.Count, Is.EqualTo(1));
        Assert.That(map.Regions[0].GuestPhysAddr, Is.EqualTo(h.Memory.Gpa));
        Assert.That(map.Regions[0].UserAddr, Is.EqualTo(h.Memory.UserAddr));

        // The back end's mapping is the same memory: a byte written here is seen there.
        ulong gpa = h.Memory.Alloc(4);
        h.Memory.WriteU32(gpa, 0xfeedf00d);
        Assert.That(map.TryReadU32(gpa, out uint value), Is.True);
        Assert.That(value, Is.EqualTo(0xfeedf00d));
    }

    [Test]
    public void SetMemTable_ReplacesTheOldTableOnEveryVring()
    {
        using var h = new BackendHarness();
        using var second = new TestGuestMemory(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        h.Frontend.SetMemTable(new[] { (new MemoryRegion(second.Gpa, second.Size, second.UserAddr, 0), second.Fd) });
        foreach (var vring in h.Handler.Vrings)
        {
            Assert.That(vring.Memory.Count, Is.EqualTo(1));
            Assert.That(vring.Memory.Regions[0].GuestPhysAddr, Is.EqualTo(0x4000_0000));
        }
    }

    [Test]
    public void SetMemTable_OverlappingRegions_IsRefusedAndTheOldTableStays()
    {
        using var h = new BackendHarness();
        var region = new MemoryRegion(h.Memory.Gpa, h.Memory.Size, h.Memory.UserAddr, 0);
        var overlapping = new MemoryRegion(h.Memory.Gpa + 4096, 4096, h.Memory.UserAddr + 4096, 4096);
        Assert.Throws<VhostUserException>(() => h.Frontend.SetMemTable(new[] { (region, h.Memory.Fd), (overlapping, h.Memory.Fd) }));
        Assert.That(h.Handler.Vrings[0].Memory.Count, Is.EqualTo(1));
        Assert.That(h.StillServes(), Is.True);
    }

    [Test]
    public void AddAndRemoveMemReg_ChangeTheTable()
    {
        using var h = new BackendHarness();
        using var extra = new TestGuestMemory(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        var region = new MemoryRegion(extra.Gpa, extra.Size, extra.UserAddr, 0);
        h.Frontend.AddMemReg(region, extra.Fd);
        Assert.That(h.Handler.Vrings[1].Memory.Count, Is.EqualTo(2));
        extra.WriteU16(extra.Gpa + 10, 0x1234);
        Assert.That(h.Handler.Vrings[1].Memory.TryReadU16(extra.Gpa + 10, out ushort v) && v == 0x1234, Is.True);

        Assert.Throws<VhostUserException>(() => h.Frontend.AddMemReg(region, extra.Fd), "overlap");
        Assert.Throws<VhostUserException>(() => h.Frontend.RemMemReg(region with { MemorySize = 4096 }), "size must match");
        h.Frontend.RemMemReg(region);
        Assert.That(h.Handler.Vrings[1].Memory.Count, Is.EqualTo(1));
        Assert.Throws<VhostUserException>(() => h.Frontend.RemMemReg(region), "already removed");
    }

    [Test]
    public void AddMemReg_WithoutConfigureMemSlots_IsRefused()
    {
        using var h = new BackendHarness(protocolFeatures: ProtocolFeatures.ReplyAck);
        using var extra = new TestGuestMemory(1 << 20, gpa: 0x4000_0000, userAddr: 0x7e00_0000_0000);
        Assert.Throws<VhostUserException>(() => h.Frontend.AddMemReg(new MemoryRegion(extra.Gpa, extra.Size, extra.UserAddr, 0), extra.Fd));
    }

    [Test]
    public void RemMemReg_WithAnFd_ClosesIt()
    {
        using var h = new BackendHarness();
        using EventFd stray = EventFd.Create();
        Span<byte> body = stackalloc byte[SingleMemoryRegion.Size];
        new SingleMemoryRegion(new MemoryRegion(h.Memory.Gpa, h.Memory.Size, h.Memory.UserAddr, 0)).Write(body);
        FileDescriptor fd = stray.Handle;
        Assert.That(h.SendWithAck(FrontendRequest.RemMemReg, body, new ReadOnlySpan<FileDescriptor>(in fd)), Is.EqualTo(0));
        Assert.That(h.Handler.Vrings[0].Memory.Count, Is.EqualTo(0));
    }

    [Test]
    public void SetVringAddr_OutsideTheMemoryTable_IsRefused()
    {
        using var h = new BackendHarness();
        h.Frontend.SetVringNum(0, 16);
        Assert.Throws<VhostUserException>(() => h.Frontend.SetVringAddr(new VringAddress(0, 0, 0x1000, 0x2000, 0x3000, 0)));
        Assert.That(h.StillServes(), Is.True);
    }
}
