// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Sound;

/// <summary>Log messages of the sound device. Event ids 4400-4499 are this assembly's; never reuse one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4400, Level = LogLevel.Information, Message = "Stream {Stream}: {Direction} to/from {Description}")]
    public static partial void StreamConfigured(ILogger logger, int stream, string direction, string description);

    [LoggerMessage(EventId = 4401, Level = LogLevel.Information, Message = "Stream {Stream}: parameters {Params}")]
    public static partial void ParamsSet(ILogger logger, int stream, PcmParams @params);

    [LoggerMessage(EventId = 4402, Level = LogLevel.Warning, Message = "Stream {Stream}: parameters not supported: {Params}")]
    public static partial void ParamsRefused(ILogger logger, int stream, PcmParams @params);

    [LoggerMessage(EventId = 4403, Level = LogLevel.Error, Message = "Stream {Stream}: the sink or source failed, I/O errors until the next PREPARE: {Reason}")]
    public static partial void EndpointFailed(ILogger logger, int stream, string reason);

    [LoggerMessage(EventId = 4404, Level = LogLevel.Information, Message = "Stream {Stream}: released after {Frames} frames ({Ms:F1} ms of audio) in {WallMs:F1} ms since START; messages completed at most {LateMs:F2} ms after their time; {Xruns} xruns bridged ({XrunFrames} frames), {EndpointXruns} recovered by the endpoint")]
    public static partial void SessionEnded(ILogger logger, int stream, long frames, double ms, double wallMs, double lateMs, int xruns, long xrunFrames, int endpointXruns);

    [LoggerMessage(EventId = 4405, Level = LogLevel.Warning, Message = "Malformed request answered with BAD_MSG: {What} ({Length} bytes; further ones are logged at debug level)")]
    public static partial void BadRequestFirst(ILogger logger, string what, uint length);

    [LoggerMessage(EventId = 4406, Level = LogLevel.Debug, Message = "Malformed request answered with BAD_MSG: {What} ({Length} bytes, {Count} so far)")]
    public static partial void BadRequest(ILogger logger, string what, uint length, long count);

    [LoggerMessage(EventId = 4407, Level = LogLevel.Information, Message = "Request code 0x{Code:x} is not supported")]
    public static partial void UnknownRequest(ILogger logger, uint code);
}
