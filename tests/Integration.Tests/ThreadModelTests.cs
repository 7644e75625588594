// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace VirtioLoopback.Tests;

/// <summary>
/// The threads a back-end process runs: queue threads only while rings are started, several queues
/// per thread when there are fewer CPUs than queues, and blk's I/O threads shared by its queues.
/// </summary>
[TestFixture]
[CancelAfter(60000)]
public sealed class ThreadModelTests
{
    [Test]
    public void Blk_QueueAndIoThreadsLiveOnlyWhileRingsRun()
    {
        string dir = FrontendHarness.NewTempDir();
        try
        {
            string image = BlkWire.CreateImage(dir, 8 << 20);
            using ProcessBackend backend = ProcessBackend.Start(
                BackendPrograms.Blk, Path.Combine(dir, "blk.sock"), "--blk-file", image, "--num-queues", "4", "--queue-threads", "2", "--io-threads", "3", "--io-engine", "threads", "--log-level", "warn");
            Dictionary<string, int> idle = Threads(backend.Pid);
            TestContext.Out.WriteLine($"idle: {Describe(idle)}");
            Assert.That(Count(idle, "vhost-queues"), Is.Zero, "no queue thread before a front end starts a ring");
            Assert.That(Count(idle, "blk-io"), Is.Zero, "no I/O thread before a queue starts");

            using (FrontendHarness h = FrontendHarness.Attach(backend, new HarnessOptions { QueueCount = 4 }))
            {
                BlkDriver blk = new(h);
                for (int q = 0; q < 4; q++)
                {
                    byte[] data = blk.RandomBytes(4096);
                    blk.Write(q, (ulong)q * 8, data);
                }

                Dictionary<string, int> running = Threads(backend.Pid);
                TestContext.Out.WriteLine($"4 rings running: {Describe(running)}");
                Assert.That(Count(running, "vhost-queues"), Is.EqualTo(2), "four queues on two threads (--queue-threads 2)");
                Assert.That(Count(running, "blk-io"), Is.EqualTo(3), "one pool of three I/O threads for the four queues");
                Assert.That(Ours(running) - Ours(idle), Is.EqualTo(5), "nothing else of ours starts with the rings");
            }

            // The disconnect stops every ring (and with them their threads) before the next front end
            // is served, so a second session is the barrier.
            using (FrontendHarness again = FrontendHarness.Attach(backend, new HarnessOptions { QueueCount = 1 }, connect: false))
            {
                again.Connect();
                Dictionary<string, int> one = Threads(backend.Pid);
                TestContext.Out.WriteLine($"1 ring running: {Describe(one)}");
                Assert.That(Count(one, "vhost-queues"), Is.EqualTo(1));
                Assert.That(Count(one, "blk-io"), Is.EqualTo(3));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Thread names of <paramref name="pid"/> (digits dropped) and how many threads have each.</summary>
    internal static Dictionary<string, int> Threads(int pid)
    {
        Dictionary<string, int> names = new(StringComparer.Ordinal);
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string name;
            try
            {
                name = File.ReadAllText(Path.Combine(task, "comm")).Trim().TrimEnd("0123456789".ToCharArray());
            }
            catch (IOException)
            {
                continue;
            }

            names[name] = names.GetValueOrDefault(name) + 1;
        }

        return names;
    }

    /// <summary>The threads that are not the runtime's own (those come and go: tiered compilation).</summary>
    private static int Ours(Dictionary<string, int> threads) =>
        threads.Where(t => !t.Key.StartsWith(".NET", StringComparison.Ordinal)).Sum(t => t.Value);

    private static int Count(Dictionary<string, int> threads, string prefix) =>
        threads.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(t => t.Value);

    private static string Describe(Dictionary<string, int> threads) =>
        $"{threads.Values.Sum()} threads: " + string.Join(", ", threads.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}x{t.Value}"));
}
