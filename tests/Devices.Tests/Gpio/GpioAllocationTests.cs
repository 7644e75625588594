// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using NUnit.Framework;
using VirtioLoopback.Devices.Gpio;
using VirtioLoopback.Devices.Gpio.Host;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tests.Common;
using VirtioLoopback.Tests.Input;
using static VirtioLoopback.Tests.Gpio.GpioMessages;

namespace VirtioLoopback.Tests.Gpio;

/// <summary>
/// The steady state allocates nothing: requests (set and get a value) and interrupts (an edge on
/// the wired chip, the buffer returned, the line unmasked again).
/// </summary>
[TestFixture]
public sealed class GpioAllocationTests
{
    [Test]
    public void RequestsAndInterrupts_DoNotAllocate()
    {
        using TestGuestMemory guest = new(1 << 20);
        using GpioLogic logic = GpioLogic.Create(new WiredChip(2), null);
        logic.Attach(new FakeScheduler(), FakeHost.Instance);
        logic.OnFeaturesAcked(logic.DeviceFeatures);
        using QueueHarness requests = new(size: 16, guest: guest) { Index = 0 };
        using QueueHarness events = new(size: 16, guest: guest) { Index = 1 };
        logic.QueueStarted(0, requests);
        logic.QueueStarted(1, events);
        Ask(logic, requests, Request(3, 0, 1));      // line 0: output
        Ask(logic, requests, Request(3, 1, 2));      // line 1: input
        Ask(logic, requests, Request(6, 1, 3));      // both edges

        // The same buffers every round: the test's side allocates nothing either.
        DriverBuffer setHigh = requests.Readable(Request(5, 0, 1));
        DriverBuffer setLow = requests.Readable(Request(5, 0, 0));
        DriverBuffer response = requests.Writable(2);
        DriverBuffer line = events.Readable([1, 0]);
        DriverBuffer status = events.Writable(1);
        long allocated = 0;
        for (int round = 0; round < 400; round++)
        {
            events.Driver.AddChain(line, status);
            requests.Driver.AddChain(round % 2 == 0 ? setHigh : setLow, response);
            long before = GC.GetAllocatedBytesForCurrentThread();
            logic.ServiceQueue(1, events);
            logic.ServiceQueue(0, requests);
            logic.OnReady(1, events, logic.Lines[1].WatchToken);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.That(requests.Driver.TryGetUsed(out _, out _), Is.True, $"round {round}: the request was answered");
            Assert.That(events.Driver.TryGetUsed(out _, out _), Is.True, $"round {round}: the interrupt fired");
            Assert.That(events.Bytes(status)[0], Is.EqualTo(1));
            if (round >= 100)
            {
                allocated += after - before; // after the path was compiled
            }
        }

        Assert.That(allocated, Is.Zero, "bytes allocated over 300 requests and interrupts");
    }

    private static void Ask(GpioLogic logic, QueueHarness requests, byte[] request)
    {
        DriverBuffer response = requests.Writable(2);
        requests.Driver.AddChain(requests.Readable(request), response);
        logic.ServiceQueue(0, requests);
        Assert.That(requests.Driver.TryGetUsed(out _, out _), Is.True);
        Assert.That(requests.Bytes(response)[0], Is.Zero, $"request {Convert.ToHexString(request)}");
    }
}
