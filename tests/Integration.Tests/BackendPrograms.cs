// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;

namespace VirtioLoopback.Tests;

/// <summary>
/// Finds and runs the back-end programs (vhost-user-rng, -blk, -input, -console, -sound, -gpio) as real
/// processes.
/// </summary>
/// <remarks>
/// <para>Which binary runs, in this order:</para>
/// <list type="number">
/// <item><c>VIRTIO_LOOPBACK_BACKEND_KIND=aot</c> forces the NativeAOT executable
/// <c>out/linux-x64/&lt;name&gt;</c> (the test fails if it is missing); <c>=jit</c> forces the
/// framework-dependent build.</item>
/// <item>Otherwise the NativeAOT executable when it exists and is newer than every <c>*.cs</c> and
/// <c>*.csproj</c> under <c>src/</c>: that is the case in <c>make test</c>, which publishes
/// <c>out/linux-x64</c> first, and it is the binary that ships.</item>
/// <item>Otherwise the framework-dependent build <c>src/&lt;name&gt;/bin/&lt;Configuration&gt;/net10.0/&lt;name&gt;.dll</c>,
/// run with the same <c>dotnet</c> host as the tests. This project references the three program
/// projects with <c>ReferenceOutputAssembly=false</c>, so <c>dotnet test tests/Integration.Tests</c>
/// always builds them, in the same configuration, before the tests run: a stale AOT binary from an
/// older checkout can never be tested by mistake, and no <c>dotnet run</c>/<c>dotnet publish</c>
/// happens inside a test.</item>
/// </list>
/// </remarks>
internal static class BackendPrograms
{
    public const string Rng = "vhost-user-rng";
    public const string Blk = "vhost-user-blk";
    public const string Input = "vhost-user-input";
    public const string Console = "vhost-user-console";
    public const string Sound = "vhost-user-sound";
    public const string Gpio = "vhost-user-gpio";

    private const string KindVariable = "VIRTIO_LOOPBACK_BACKEND_KIND";

    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);
    private static readonly Lazy<DateTime> s_newestSource = new(FindNewestSource);
    private static readonly Dictionary<string, (string File, string[] Prefix, string Kind)> s_resolved = new();
    private static readonly Lock s_lock = new();

    /// <summary>The repository root (the folder holding <c>VirtioLoopback.sln</c>).</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>The executable to start for <paramref name="program"/>, the arguments that go before the program's own, and which kind it is.</summary>
    public static (string File, string[] Prefix, string Kind) Resolve(string program)
    {
        lock (s_lock)
        {
            if (!s_resolved.TryGetValue(program, out var resolved))
            {
                resolved = ResolveUncached(program);
                s_resolved[program] = resolved;
            }

            return resolved;
        }
    }

    /// <summary>A start description for <paramref name="program"/> with <paramref name="args"/>; stdout and stderr redirected.</summary>
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args)
    {
        (string file, string[] prefix, _) = Resolve(program);
        ProcessStartInfo info = new(file)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            StandardErrorEncoding = Encoding.UTF8,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (string a in prefix)
        {
            info.ArgumentList.Add(a);
        }

        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        // Keep the back end's JIT and GC quiet on this small machine.
        info.Environment["DOTNET_TieredPGO"] = "0";
        info.Environment["DOTNET_gcServer"] = "0";
        return info;
    }

    /// <summary>Runs <paramref name="program"/> to completion (at most <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunToExit(string program, TimeSpan timeout, params string[] args)
    {
        using Process process = Process.Start(StartInfo(program, args))
            ?? throw new InvalidOperationException($"Could not start {program}.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not exit within {timeout}.");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static (string File, string[] Prefix, string Kind) ResolveUncached(string program)
    {
        string kind = Environment.GetEnvironmentVariable(KindVariable) ?? string.Empty;
        string aot = Path.Combine(RepoRoot, "out", "linux-x64", program);
        if (kind == "aot")
        {
            return File.Exists(aot)
                ? (aot, [], "aot")
                : throw new FileNotFoundException($"{KindVariable}=aot but {aot} does not exist (run make).");
        }

        if (kind != "jit" && File.Exists(aot) && File.GetLastWriteTimeUtc(aot) > s_newestSource.Value)
        {
            return (aot, [], "aot");
        }

        string dll = Path.Combine(RepoRoot, "src", program, "bin", Configuration(), "net10.0", program + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Neither a current {aot} nor {dll} exists; build tests/Integration.Tests (it builds the programs).");
        }

        return (DotnetHost(), ["exec", dll], "jit");
    }

    /// <summary>The build configuration of this test assembly (bin/&lt;Configuration&gt;/net10.0/).</summary>
    private static string Configuration()
    {
        DirectoryInfo? framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return framework.Parent?.Name ?? "Debug";
    }

    private static string DotnetHost()
    {
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "VirtioLoopback.sln")))
            {
                return d.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No VirtioLoopback.sln above {AppContext.BaseDirectory}.");
    }

    private static DateTime FindNewestSource()
    {
        DateTime newest = DateTime.MinValue;
        string src = Path.Combine(RepoRoot, "src");
        foreach (string file in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || !(file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".csproj", StringComparison.Ordinal)))
            {
                continue;
            }

            DateTime t = File.GetLastWriteTimeUtc(file);
            if (t > newest)
            {
                newest = t;
            }
        }

        return newest;
    }
}
