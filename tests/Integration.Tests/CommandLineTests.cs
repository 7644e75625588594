// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using NUnit.Framework;

namespace VirtioLoopback.Tests;

/// <summary>The programs' command lines, run as real processes.</summary>
[TestFixture]
public sealed class CommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // A socket path nobody else uses: none of the bad command lines may create it.
    private static readonly string Sock = Path.Combine(Path.GetTempPath(), $"vl-it-badargs-{Environment.ProcessId}.sock");

    [TestCase(BackendPrograms.Rng, "rng")]
    [TestCase(BackendPrograms.Blk, "block")]
    [TestCase(BackendPrograms.Input, "input")]
    [TestCase(BackendPrograms.Console, "console")]
    [TestCase(BackendPrograms.Sound, "sound")]
    [TestCase(BackendPrograms.Gpio, "gpio")]
    public void PrintCapabilitiesIsVhostUserJson(string program, string type)
    {
        (int exit, string stdout, string stderr) = BackendPrograms.RunToExit(program, Timeout, "--print-capabilities");
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stderr, Is.Empty);
        using JsonDocument json = JsonDocument.Parse(stdout);
        Assert.That(json.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object));
        Assert.That(json.RootElement.GetProperty("type").GetString(), Is.EqualTo(type));
        if (json.RootElement.TryGetProperty("features", out JsonElement features))
        {
            Assert.That(features.ValueKind, Is.EqualTo(JsonValueKind.Array));
            Assert.That(features.EnumerateArray().All(f => f.ValueKind == JsonValueKind.String), Is.True);
        }

        TestContext.Out.WriteLine($"{BackendPrograms.Resolve(program).Kind}: {stdout}");
    }

    private static readonly object[] BadArguments =
    [
        new object[] { BackendPrograms.Rng, new[] { "--no-such-option" } },
        new object[] { BackendPrograms.Rng, Array.Empty<string>() },
        new object[] { BackendPrograms.Rng, new[] { "--socket-path" } },
        new object[] { BackendPrograms.Rng, new[] { "--socket-path", Sock, "--fd", "3" } },
        new object[] { BackendPrograms.Rng, new[] { "--socket-path", Sock, "--max-bytes", "100" } },
        new object[] { BackendPrograms.Rng, new[] { "--socket-path", Sock, "--max-bytes", "-5", "--period", "10" } },
        new object[] { BackendPrograms.Rng, new[] { "--socket-path", Sock, "--source", "/nonexistent/entropy" } },
        new object[] { BackendPrograms.Rng, new[] { "--socket-path", Sock, "--log-level", "loud" } },
        new object[] { BackendPrograms.Rng, new[] { "stray" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--blk-file", "/nonexistent/disk.img" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--blk-file", "/dev/null", "--num-queues", "0" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--blk-file", "/dev/null", "--queue-size", "100" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--blk-file", "/dev/null", "--io-engine", "aio" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--blk-file", "/dev/null", "--serial", "012345678901234567890" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--read-only=yes", "--blk-file", "/dev/null" } },
        new object[] { BackendPrograms.Blk, new[] { "--socket-path", Sock, "--blk-file", "/dev/null", "--direct=on" } },
        new object[] { BackendPrograms.Input, new[] { "--socket-path", Sock } },
        new object[] { BackendPrograms.Input, new[] { "--socket-path", Sock, "--evdev-path", "/nonexistent/event99" } },
        new object[] { BackendPrograms.Input, new[] { "--socket-path", Sock, "--evdev-path", "/dev/null" } },
        new object[] { BackendPrograms.Console, new[] { "--socket-path", Sock } },
        new object[] { BackendPrograms.Console, new[] { "--socket-path", Sock, "--port", "modem,pty" } },
        new object[] { BackendPrograms.Console, new[] { "--socket-path", Sock, "--port", "serial,file=/nonexistent/dir/out" } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock, "--playback-file", "/nonexistent/dir/out.wav" } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock, "--capture-file", "/nonexistent/in.wav" } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock, "--capture-file", "/dev/null" } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock, "--device", "no-such-pcm" } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock, "--device", "null", "--capture-device", "null" } },
        new object[] { BackendPrograms.Sound, new[] { "--socket-path", Sock, "--playback-device", "null", "--playback-file", "/tmp/x.wav" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "/dev/no-such-gpiochip" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "no-such-label" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "wired:0" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "wired:x" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "wired:4", "--lines", "4" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "wired:4", "--lines", "1,1" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "wired:4", "--lines", "3-1" } },
        new object[] { BackendPrograms.Gpio, new[] { "--socket-path", Sock, "--chip", "wired:4", "--lines", "a" } },
    ];

    [TestCaseSource(nameof(BadArguments))]
    public void BadArgumentsExitNonZeroWithOneLine(string program, string[] args)
    {
        (int exit, string stdout, string stderr) = BackendPrograms.RunToExit(program, Timeout, args);
        Assert.That(exit, Is.Not.Zero, $"stdout: {stdout}\nstderr: {stderr}");
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"exactly one line on stderr, got:\n{stderr}");
        Assert.That(lines[0], Does.StartWith(program + ":"), "the line names the program");
        Assert.That(File.Exists(Sock), Is.False, "no socket was created");
    }

    [TestCase(BackendPrograms.Rng)]
    [TestCase(BackendPrograms.Blk)]
    [TestCase(BackendPrograms.Input)]
    [TestCase(BackendPrograms.Console)]
    [TestCase(BackendPrograms.Sound)]
    [TestCase(BackendPrograms.Gpio)]
    public void HelpGoesToStdoutAndSucceeds(string program)
    {
        (int exit, string stdout, string stderr) = BackendPrograms.RunToExit(program, Timeout, "--help");
        Assert.That(exit, Is.Zero);
        Assert.That(stderr, Is.Empty);
        Assert.That(stdout, Does.Contain("--socket-path"));
        Assert.That(stdout, Does.Contain("--print-capabilities"));
    }
}
