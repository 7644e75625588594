// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Console;
using VirtioLoopback.Sys;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tests.Common;
using VirtioLoopback.Tests.Input;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Tests.Console;

/// <summary>
/// The console's control queues driven as a (possibly hostile) driver would: every control message
/// is completed, malformed ones change nothing, and the port announcements follow the driver's
/// handshake. The ports' host sides are files in a temporary folder.
/// </summary>
[TestFixture]
public sealed class ConsoleControlTests
{
    private const int ControlRx = 2;
    private const int ControlTx = 3;
    private const ushort DeviceReady = 0;
    private const ushort DeviceAdd = 1;
    private const ushort PortReady = 3;
    private const ushort ConsolePort = 4;
    private const ushort Resize = 5;
    private const ushort PortOpen = 6;
    private const ushort PortName = 7;

    private string _dir = null!;

    [SetUp]
    public void MakeDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), "console-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void MalformedControlMessages_AreCompleted_AndChangeNothing()
    {
        using ConsoleLogic logic = Create("console,file=" + Path.Combine(_dir, "p0"), "serial,file=" + Path.Combine(_dir, "p1") + ",name=test.p1");
        FakeScheduler scheduler = new();
        logic.Attach(scheduler, FakeHost.Instance);
        using QueueHarness tx = new() { Index = ControlTx };
        using QueueHarness rx = new() { Index = ControlRx };
        logic.QueueStarted(ControlTx, tx);
        logic.QueueStarted(ControlRx, rx);

        List<ushort> heads =
        [
            tx.Driver.AddChain(tx.Readable([1, 2, 3])),                    // shorter than a header
            tx.Driver.AddChain(tx.Writable(8)),                            // no readable bytes at all
            tx.Driver.AddChain(tx.Readable(Message(0, DeviceAdd, 1))),     // an event only devices send
            tx.Driver.AddChain(tx.Readable(Message(7, PortReady, 1))),     // a port that does not exist
            tx.Driver.AddChain(tx.Readable(Message(uint.MaxValue, PortOpen, 1))),
            tx.Driver.AddChain(tx.Readable(Message(0, 0xffff, 1))),        // an unknown event
            tx.Driver.AddChain(tx.Readable(Message(0, PortReady, 1))),     // before DEVICE_READY
        ];
        logic.ServiceQueue(ControlTx, tx);

        (ushort Id, uint Length)[] used = tx.TakeUsed();
        Assert.That(tx.IsBroken, Is.False, "malformed messages do not break the queue");
        Assert.That(used, Has.Length.EqualTo(heads.Count), "every message is completed (the driver spins for each)");
        for (int i = 0; i < used.Length; i++)
        {
            Assert.That(used[i], Is.EqualTo((heads[i], 0u)), $"message {i}");
        }

        // Nothing was owed to the driver: the control receive queue stays untouched.
        rx.Driver.AddChain(rx.Writable(64));
        logic.ServiceQueue(ControlRx, rx);
        Assert.That(rx.TakeUsed(), Is.Empty, "no DEVICE_ADD before DEVICE_READY");
    }

    [Test]
    public void Handshake_AnnouncesPorts_ConsoleSizeAndName()
    {
        using ConsoleLogic logic = Create("console,file=" + Path.Combine(_dir, "p0") + ",size=100x40", "serial,file=" + Path.Combine(_dir, "p1") + ",name=test.p1");
        FakeScheduler scheduler = new();
        logic.Attach(scheduler, FakeHost.Instance);
        using QueueHarness tx = new() { Index = ControlTx };
        using QueueHarness rx = new(size: 32) { Index = ControlRx };
        logic.QueueStarted(ControlTx, tx);
        logic.QueueStarted(ControlRx, rx);

        tx.Driver.AddChain(tx.Readable(Message(0, DeviceReady, 1)));
        logic.ServiceQueue(ControlTx, tx);
        Assert.That(scheduler.Wakes, Does.Contain(ControlRx), "DEVICE_READY wakes the control receive queue");

        List<(ushort Head, DriverBuffer Buffer)> buffers = new();
        for (int i = 0; i < 16; i++)
        {
            DriverBuffer b = rx.Writable(256);
            buffers.Add((rx.Driver.AddChain(b), b));
        }

        logic.ServiceQueue(ControlRx, rx);
        List<(uint Id, ushort Event, ushort Value, byte[] Payload)> sent = Sent(rx, buffers);
        Assert.That(sent.ConvertAll(m => (m.Id, m.Event, m.Value)), Is.EqualTo(new[] { (0u, DeviceAdd, (ushort)0), (1u, DeviceAdd, (ushort)0) }));

        tx.Driver.AddChain(tx.Readable(Message(0, PortReady, 1)));
        tx.Driver.AddChain(tx.Readable(Message(1, PortReady, 1)));
        logic.ServiceQueue(ControlTx, tx);
        logic.ServiceQueue(ControlRx, rx);
        sent = Sent(rx, buffers);

        Assert.That(sent.Exists(m => m.Id == 0 && m.Event == ConsolePort && m.Value == 1), "port 0 is a console");
        (uint _, ushort _, ushort _, byte[] resize) = sent.Find(m => m.Id == 0 && m.Event == Resize);
        Assert.That(resize, Is.Not.Null, "the console's size is sent");
        Assert.That((BinaryPrimitives.ReadUInt16LittleEndian(resize), BinaryPrimitives.ReadUInt16LittleEndian(resize.AsSpan(2))), Is.EqualTo(((ushort)100, (ushort)40)), "cols then rows (virtio 1.2 5.3.6.2)");
        (uint _, ushort _, ushort _, byte[] name) = sent.Find(m => m.Id == 1 && m.Event == PortName);
        Assert.That(name, Is.EqualTo("test.p1"u8.ToArray()), "port 1's name");
        Assert.That(sent.Exists(m => m.Id == 1 && m.Event == ConsolePort), Is.False, "port 1 is no console");
        Assert.That(sent.Exists(m => m.Event == PortOpen), Is.True, "a file is a connected host side");
    }

    [Test]
    public void ControlBufferOutsideGuestMemory_BreaksOnlyThatQueue()
    {
        using ConsoleLogic logic = Create("serial,file=" + Path.Combine(_dir, "p0"));
        logic.Attach(new FakeScheduler(), FakeHost.Instance);
        using QueueHarness tx = new() { Index = ControlTx };
        logic.QueueStarted(ControlTx, tx);
        tx.Driver.AddChain(DriverBuffer.DeviceReadable(1UL << 40, 8));
        logic.ServiceQueue(ControlTx, tx);
        Assert.That(tx.IsBroken, Is.True, "a buffer outside guest memory breaks the control queue");
        Assert.That(tx.TakeUsed(), Is.Empty, "and nothing is completed with made-up data");
    }

    private static ConsoleLogic Create(params string[] specs)
    {
        List<PortSpec> list = new();
        foreach (string s in specs)
        {
            list.Add(PortSpec.Parse(s, out string? error) ?? throw new ArgumentException(error));
        }

        return ConsoleLogic.Create(list);
    }

    private static byte[] Message(uint id, ushort controlEvent, ushort value)
    {
        byte[] m = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(m, id);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), controlEvent);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), value);
        return m;
    }

    // The messages the device wrote into the control receive buffers since the last call, in order.
    private static List<(uint Id, ushort Event, ushort Value, byte[] Payload)> Sent(QueueHarness rx, List<(ushort Head, DriverBuffer Buffer)> buffers)
    {
        List<(uint, ushort, ushort, byte[])> messages = new();
        foreach ((ushort id, uint length) in rx.TakeUsed())
        {
            DriverBuffer b = buffers.Find(x => x.Head == id).Buffer;
            Assert.That(length, Is.InRange(8u, b.Length), $"used length of buffer {id}");
            byte[] bytes = rx.Bytes(b)[..(int)length].ToArray();
            messages.Add((BinaryPrimitives.ReadUInt32LittleEndian(bytes), BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)),
                BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6)), bytes[8..]));
        }

        return messages;
    }
}
