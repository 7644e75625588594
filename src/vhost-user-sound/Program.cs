// SPDX-License-Identifier: MIT
using System;
using System.IO;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.Devices.Sound.Endpoints;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-sound";
const string PlaybackOption = "--playback-file";
const string CaptureOption = "--capture-file";

BackendCommandLine commandLine = new(
    ProgramName,
    "sound",
    "A vhost-user virtio sound device (virtio-snd): a playback stream recorded into a WAV file and a capture stream read from one, paced by the host's clock.");
commandLine.AddOption(PlaybackOption, "Offer a playback stream (U8, S16, S24_3, S32, float; 8 to 192 kHz; 1 or 2 channels) whose frames go to the WAV file FILE, created or overwritten.", "FILE");
commandLine.AddOption(CaptureOption, "Offer a capture stream in the format, rate and channels of the WAV file FILE, read from its start at each PREPARE, then silence.", "FILE");

if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

string? playback = options.GetValue(PlaybackOption);
string? capture = options.GetValue(CaptureOption);
if (playback is null && capture is null)
{
    return Fail($"{PlaybackOption} or {CaptureOption} is required (see --help)");
}

WavSink? sink = null;
WavSource? source = null;
try
{
    sink = playback is null ? null : new WavSink(playback);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    return Fail($"{PlaybackOption}: {e.Message}");
}

try
{
    source = capture is null ? null : WavSource.Open(capture);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    sink?.Dispose();
    return Fail($"{CaptureOption}: {e.Message}");
}

using SoundLogic logic = new(sink, source);
using SerializedDevice device = new(logic);
return BackendHost.Run(device, options);

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
