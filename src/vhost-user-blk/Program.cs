// SPDX-License-Identifier: MIT
using System;
using System.Globalization;
using System.IO;
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-blk";
const string BlkFileOption = "--blk-file";
const string ReadOnlyOption = "--read-only";
const string SerialOption = "--serial";
const string NumQueuesOption = "--num-queues";
const string QueueSizeOption = "--queue-size";
const string IoThreadsOption = "--io-threads";
const string IoEngineOption = "--io-engine";
const string DirectOption = "--direct";

BackendCommandLine commandLine = new(
    ProgramName,
    "block",
    "A vhost-user virtio block device (virtio-blk) over a raw image file or a block device. SIGHUP re-reads the size.");
commandLine.AddOption(BlkFileOption, "The raw image file or block device to serve.", "PATH", required: true);
commandLine.AddOption(ReadOnlyOption, "Open the image read-only and offer VIRTIO_BLK_F_RO.");
commandLine.AddOption(SerialOption, "The serial returned by GET_ID (at most 20 bytes).", "S", validator: ValidSerial);
commandLine.AddOption(
    NumQueuesOption,
    $"The number of request queues, 1 to {BlkDeviceOptions.MaxQueues} (default 1).",
    "N",
    validator: v => IntegerIn(v, 1, BlkDeviceOptions.MaxQueues));
commandLine.AddOption(
    QueueSizeOption,
    $"The largest queue size, a power of two from 4 to {BlkDeviceOptions.MaxQueueSizeLimit} (default 128).",
    "N",
    validator: ValidQueueSize);
commandLine.AddOption(
    IoThreadsOption,
    $"I/O threads, shared by all queues, 0 to 64; 0 does the I/O on the queues' threads (default: 0 for an image on tmpfs or ramfs, else {BlkDeviceOptions.DefaultIoThreads}).",
    "N",
    validator: v => IntegerIn(v, 0, 64));
commandLine.AddOption(
    IoEngineOption,
    "auto, io_uring or threads: io_uring gives each queue a ring for its reads, writes and flushes, and falls back to "
    + "threads (logged) where the kernel has none or refuses it; auto is io_uring unless the image is on tmpfs or ramfs (default auto).",
    "E",
    validator: v => ParseEngine(v) is null ? $"expected auto, io_uring or threads, not '{v}'" : null);
commandLine.AddOption(
    DirectOption,
    "Bypass the host's page cache (O_DIRECT) for transfers aligned as the image's file system needs; the rest go through the cache.");
commandLine.AddCapability("read-only-config");
commandLine.AddCapability("blk-file");

if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

BlkDeviceOptions deviceOptions = new()
{
    Path = options.GetValue(BlkFileOption)!,
    ReadOnly = options.IsSet(ReadOnlyOption),
    Serial = options.GetValue(SerialOption),
    NumQueues = ParseOr(options.GetValue(NumQueuesOption), 1),
    QueueSize = ParseOr(options.GetValue(QueueSizeOption), 128),
    IoThreads = options.GetValue(IoThreadsOption) is { } threads ? ParseOr(threads, BlkDeviceOptions.DefaultIoThreads) : null,
    IoEngine = options.GetValue(IoEngineOption) is { } engine ? ParseEngine(engine)!.Value : BlkIoEngine.Auto,
    Direct = options.IsSet(DirectOption),
};

BlkDevice device;
try
{
    device = new BlkDevice(deviceOptions);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
{
    return Fail($"{BlkFileOption}: {e.Message}");
}

using (device)
{
    // SIGHUP: the image was resized; serve the new capacity and tell the front end (CONFIG_CHANGE_MSG).
    return BackendHost.Run(device, options, onHangUp: () => device.Resize());
}

static int ParseOr(string? value, int fallback) =>
    value is null ? fallback : int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);

static string? IntegerIn(string value, int min, int max) =>
    int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
        ? null
        : $"expected an integer from {min} to {max}, not '{value}'";

static string? ValidQueueSize(string value)
{
    string? error = IntegerIn(value, 4, BlkDeviceOptions.MaxQueueSizeLimit);
    if (error is not null)
    {
        return error;
    }

    int n = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
    return (n & (n - 1)) == 0 ? null : $"expected a power of two, not '{value}'";
}

static BlkIoEngine? ParseEngine(string value) => value switch
{
    "auto" => BlkIoEngine.Auto,
    "io_uring" => BlkIoEngine.IoUring,
    "threads" => BlkIoEngine.Threads,
    _ => null,
};

static string? ValidSerial(string value) =>
    System.Text.Encoding.UTF8.GetByteCount(value) <= 20 ? null : "the serial is longer than 20 bytes";

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
