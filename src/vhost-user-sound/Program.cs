// SPDX-License-Identifier: MIT
using System;
using System.IO;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.Devices.Sound.Endpoints;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-sound";
const string DeviceOption = "--device";
const string PlaybackDeviceOption = "--playback-device";
const string CaptureDeviceOption = "--capture-device";
const string PlaybackFileOption = "--playback-file";
const string CaptureFileOption = "--capture-file";

BackendCommandLine commandLine = new(
    ProgramName,
    "sound",
    "A vhost-user virtio sound device (virtio-snd): a playback stream and a capture stream on ALSA PCMs (libasound) or WAV files, paced by the ALSA device's clock or, for files, the host's monotonic clock. The streams offer the formats, rates and channel counts (1 or 2) their endpoint accepts.");
commandLine.AddOption(DeviceOption, "Play to and capture from the ALSA PCM NAME (hw:0,0, plughw:1, default, ...).", "NAME");
commandLine.AddOption(PlaybackDeviceOption, "Play to the ALSA PCM NAME.", "NAME");
commandLine.AddOption(CaptureDeviceOption, "Capture from the ALSA PCM NAME.", "NAME");
commandLine.AddOption(PlaybackFileOption, "Record the playback stream into the WAV file FILE (created or overwritten; U8, S16, S24_3, S32, float; 8 to 192 kHz).", "FILE");
commandLine.AddOption(CaptureFileOption, "Capture from the WAV file FILE, from its start at each PREPARE, then silence; the stream offers exactly its format.", "FILE");

if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

string? device = options.GetValue(DeviceOption);
string? playbackDevice = options.GetValue(PlaybackDeviceOption) ?? device;
string? captureDevice = options.GetValue(CaptureDeviceOption) ?? device;
string? playbackFile = options.GetValue(PlaybackFileOption);
string? captureFile = options.GetValue(CaptureFileOption);
if (device is not null && (options.GetValue(PlaybackDeviceOption) is not null || options.GetValue(CaptureDeviceOption) is not null))
{
    return Fail($"{DeviceOption} sets both directions: give it, or {PlaybackDeviceOption} and {CaptureDeviceOption}, not both");
}

if (playbackDevice is not null && playbackFile is not null)
{
    return Fail($"the playback stream goes to a device or to a file: {PlaybackFileOption} and an ALSA device were both given");
}

if (captureDevice is not null && captureFile is not null)
{
    return Fail($"the capture stream comes from a device or from a file: {CaptureFileOption} and an ALSA device were both given");
}

if (playbackDevice is null && playbackFile is null && captureDevice is null && captureFile is null)
{
    return Fail($"no stream: give {DeviceOption}, {PlaybackDeviceOption}, {CaptureDeviceOption}, {PlaybackFileOption} or {CaptureFileOption} (see --help)");
}

IPlaybackSink? sink;
try
{
    sink = playbackFile is not null ? new WavSink(playbackFile) : playbackDevice is not null ? new AlsaSink(playbackDevice) : null;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    return Fail($"{(playbackFile is not null ? PlaybackFileOption : device is not null ? DeviceOption : PlaybackDeviceOption)}: {e.Message}");
}

ICaptureSource? source;
try
{
    source = captureFile is not null ? WavSource.Open(captureFile) : captureDevice is not null ? new AlsaSource(captureDevice) : null;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    sink?.Dispose();
    return Fail($"{(captureFile is not null ? CaptureFileOption : device is not null ? DeviceOption : CaptureDeviceOption)}: {e.Message}");
}

using SoundLogic logic = new(sink, source);
using SerializedDevice serialized = new(logic);
return BackendHost.Run(serialized, options);

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
