// SPDX-License-Identifier: MIT
using System;
using System.Globalization;
using System.IO;
using VirtioLoopback.Devices.Rng;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-rng";
const string SourceOption = "--source";
const string MaxBytesOption = "--max-bytes";
const string PeriodOption = "--period";

BackendCommandLine commandLine = new(
    ProgramName,
    "rng",
    "A vhost-user virtio entropy device (virtio-rng): fills the driver's buffers from getrandom(2) or a file.");
commandLine.AddOption(
    SourceOption,
    "Read bytes from FILE (a device such as /dev/hwrng, or a regular file, which wraps at its end) instead of getrandom(2).",
    "FILE");
commandLine.AddOption(MaxBytesOption, "Give at most N bytes per period (needs --period).", "N", validator: PositiveInteger);
commandLine.AddOption(PeriodOption, "The rate-limit period in milliseconds (needs --max-bytes).", "MS", validator: PositiveInteger);

if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

string? maxBytes = options.GetValue(MaxBytesOption);
string? period = options.GetValue(PeriodOption);
if ((maxBytes is null) != (period is null))
{
    return Fail("--max-bytes and --period must be given together");
}

TokenBucket? limiter = maxBytes is null
    ? null
    : new TokenBucket(
        long.Parse(maxBytes, NumberStyles.None, CultureInfo.InvariantCulture),
        TimeSpan.FromMilliseconds(long.Parse(period!, NumberStyles.None, CultureInfo.InvariantCulture)));

IEntropySource source;
string? path = options.GetValue(SourceOption);
try
{
    source = path is null ? new GetRandomSource() : FileEntropySource.Open(path);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    return Fail($"{SourceOption}: {e.Message}");
}

using RngDevice device = new(source, limiter);
return BackendHost.Run(device, options);

static string? PositiveInteger(string value) =>
    long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0 && n <= int.MaxValue
        ? null
        : $"expected a positive integer up to {int.MaxValue}, not '{value}'";

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
