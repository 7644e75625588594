// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.TestDriver;

namespace VirtioLoopback.Tests;

[TestFixture]
[CancelAfter(30000)]
public sealed class HotPathTests
{
    /// <summary>
    /// kick → Process → TryPop → PushUsed → NotifyIfNeeded, and the worker's epoll loop between kicks,
    /// allocate nothing once warmed up (measured on the worker thread from the first Process call),
    /// whether the loop sleeps between kicks or polls for them.
    /// </summary>
    [TestCase(0)]
    [TestCase(1_000_000)]
    public void KickToNotify_DoesNotAllocate(int pollMicroseconds)
    {
        var device = new FakeDevice { Minimal = true };
        using var h = new BackendHarness(device, minimumLevel: LogLevel.Information, pollMicroseconds: pollMicroseconds);
        var (queue, kick, call) = h.StartRing(0, size: 64);
        ulong buffer = h.Memory.Alloc(64);
        int processed = device.ProcessCount;
        for (int i = 0; i < 200; i++)
        {
            ushort head = queue.AddChain(DriverBuffer.DeviceReadable(buffer, 16), DriverBuffer.DeviceWritable(buffer + 16, 16));
            kick.Signal();
            Assert.That(Wait.Until(() => queue.TryGetUsed(out ushort id, out _) && id == head), Is.True);
            call.TryRead(out _);
        }

        Assert.That(device.ProcessCount, Is.GreaterThan(processed + 100));
        Assert.That(device.AllocatedSinceFirstProcess, Is.EqualTo(0));
    }
}
