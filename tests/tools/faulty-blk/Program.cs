// SPDX-License-Identifier: MIT
//
// faulty-blk: vhost-user-blk's device (Devices.Blk) on the real back-end host, which breaks its
// request queues on demand, as a back end does that finds a ring it cannot serve: once the file
// named by --break-file exists, the next batch of requests marks the queue broken instead of
// serving it, and the host signals the ring's SET_VRING_ERR eventfd. For the loopback's fault
// tests: the front end must fail the guest's I/O, not leave it waiting.
//
//   faulty-blk --socket-path P --blk-file F --break-file B [--log-level L]
using VirtioLoopback.Devices.Blk;
using VirtioLoopback.Hosting;
using VirtioLoopback.Tools.FaultyBlk;

const string BlkFileOption = "--blk-file";
const string BreakFileOption = "--break-file";

BackendCommandLine commandLine = new(
    "faulty-blk",
    "block",
    "vhost-user-blk's device that breaks its request queues once the --break-file exists (a test tool).");
commandLine.AddOption(BlkFileOption, "The raw image file to serve.", "PATH", required: true);
commandLine.AddOption(BreakFileOption, "Break each request queue at its next batch once this file exists.", "PATH", required: true);
if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

using BlkDevice blk = new(new BlkDeviceOptions { Path = options.GetValue(BlkFileOption)! });
return BackendHost.Run(new BreakingDevice(blk, options.GetValue(BreakFileOption)!), options);
