// SPDX-License-Identifier: MIT
using System;
using System.IO;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using VirtioLoopback.Hosting;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Tests;

[TestFixture]
public sealed class CommandLineTests
{
    private static BackendCommandLine Blk()
    {
        var cl = new BackendCommandLine("vhost-user-blk", "block", "Serves a disk image.");
        cl.AddOption("--blk-file", "The image.", valueName: "PATH", required: true);
        cl.AddOption("--read-only", "Refuse writes.");
        cl.AddOption("--queues", "Queue count.", valueName: "N", validator: v => int.TryParse(v, out int n) && n is > 0 and <= 16 ? null : "must be 1 to 16");
        cl.AddCapability("read-only-config");
        cl.AddCapability("blk-file");
        return cl;
    }

    private static (bool Ok, ProgramOptions? Options, int Exit, string Out, string Err) Parse(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        bool ok = Blk().TryParse(args, stdout, stderr, out ProgramOptions? options, out int exit);
        return (ok, options, exit, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void CommonAndProgramOptions_AreParsed()
    {
        var r = Parse("--socket-path", "/run/blk.sock", "--blk-file=/img", "--read-only", "--log-level", "debug", "--queues", "4");
        Assert.That(r.Ok, Is.True, r.Err);
        Assert.That(r.Options!.Backend.SocketPath, Is.EqualTo("/run/blk.sock"));
        Assert.That(r.Options.Backend.Fd, Is.EqualTo(-1));
        Assert.That(r.Options.LogLevel, Is.EqualTo(LogLevel.Debug));
        Assert.That(r.Options.GetValue("--blk-file"), Is.EqualTo("/img"));
        Assert.That(r.Options.IsSet("--read-only"), Is.True);
        Assert.That(r.Options.GetValue("--queues"), Is.EqualTo("4"));
        Assert.That(r.Options.IsSet("--no-such"), Is.False);
        Assert.That(r.Options.Backend.PollMicroseconds, Is.Zero, "no poll unless asked");
    }

    [Test]
    public void PollMicroseconds_IsParsed()
    {
        var r = Parse("--socket-path", "/s", "--blk-file", "/img", "--poll-us", "50");
        Assert.That(r.Ok, Is.True, r.Err);
        Assert.That(r.Options!.Backend.PollMicroseconds, Is.EqualTo(50));
        Assert.That(Parse("--socket-path", "/s", "--blk-file", "/img", "--poll-us=100000").Options!.Backend.PollMicroseconds, Is.EqualTo(100_000));
    }

    [Test]
    public void Fd_IsAccepted()
    {
        var r = Parse("--fd", "3", "--blk-file", "/img");
        Assert.That(r.Ok, Is.True);
        Assert.That(r.Options!.Backend.Fd, Is.EqualTo(3));
        Assert.That(r.Options.Backend.SocketPath, Is.Null);
    }

    [TestCase(new[] { "--blk-file", "/img" }, "one of --socket-path or --fd is required")]
    [TestCase(new[] { "--socket-path", "/s", "--fd", "3", "--blk-file", "/img" }, "cannot be used together")]
    [TestCase(new[] { "--socket-path", "/s" }, "option '--blk-file' is required")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--bogus" }, "unknown option '--bogus'")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "extra" }, "unexpected argument 'extra'")]
    [TestCase(new[] { "--socket-path" }, "option '--socket-path' needs a value")]
    [TestCase(new[] { "--fd", "x", "--blk-file", "/img" }, "--fd needs a file descriptor number")]
    [TestCase(new[] { "--fd", "-1", "--blk-file", "/img" }, "--fd needs a file descriptor number")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--log-level", "loud" }, "--log-level must be")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--poll-us", "-1" }, "--poll-us needs a number of microseconds from 0 to 100000, not '-1'")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--poll-us", "100001" }, "--poll-us needs a number of microseconds")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--poll-us", "5ms" }, "--poll-us needs a number of microseconds")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--queues", "99" }, "--queues: must be 1 to 16")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/a", "--blk-file", "/b" }, "given more than once")]
    [TestCase(new[] { "--socket-path", "/s", "--blk-file", "/img", "--read-only=yes" }, "takes no value")]
    public void BadArguments_PrintOneLineAndExitWithOne(string[] args, string message)
    {
        var r = Parse(args);
        Assert.That(r.Ok, Is.False);
        Assert.That(r.Exit, Is.EqualTo(BackendCommandLine.ExitFailure).And.EqualTo(1));
        Assert.That(r.Err, Does.StartWith("vhost-user-blk: ").And.Contain(message));
        Assert.That(r.Err.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
        Assert.That(r.Out, Is.Empty);
    }

    [TestCase("--help")]
    [TestCase("-h")]
    public void Help_PrintsUsageAndExitsZero(string flag)
    {
        var r = Parse("--bogus", flag);
        Assert.That(r.Ok, Is.False);
        Assert.That(r.Exit, Is.EqualTo(0));
        Assert.That(r.Out, Does.Contain("Usage: vhost-user-blk").And.Contain("--blk-file PATH").And.Contain("--print-capabilities"));
        Assert.That(r.Err, Is.Empty);
    }

    [Test]
    public void PrintCapabilities_PrintsTheVhostUserJsonDocument()
    {
        var r = Parse("--print-capabilities");
        Assert.That(r.Ok, Is.False);
        Assert.That(r.Exit, Is.EqualTo(0));
        using JsonDocument doc = JsonDocument.Parse(r.Out);
        Assert.That(doc.RootElement.GetProperty("type").GetString(), Is.EqualTo("block"));
        var features = doc.RootElement.GetProperty("features");
        Assert.That(features.GetArrayLength(), Is.EqualTo(2));
        Assert.That(features[0].GetString(), Is.EqualTo("read-only-config"));
        Assert.That(features[1].GetString(), Is.EqualTo("blk-file"));
    }

    [Test]
    public void AddOption_RejectsBadOrDuplicateNames()
    {
        var cl = Blk();
        Assert.Throws<ArgumentException>(() => cl.AddOption("blk", "x"));
        Assert.Throws<ArgumentException>(() => cl.AddOption("--blk-file", "again"));
        Assert.Throws<ArgumentException>(() => cl.AddOption("--socket-path", "common"));
        Assert.Throws<ArgumentException>(() => cl.AddOption("--flag", "x", validator: _ => null));
    }
}
