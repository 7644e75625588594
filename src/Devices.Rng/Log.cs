// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Rng;

/// <summary>Log messages of the rng device. Event ids 4000-4099 are this assembly's; never reuse one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Debug, Message = "Request {Head} has no device-writable buffer; completed with 0 bytes")]
    public static partial void NoWritableBuffer(ILogger logger, ushort head);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "The entropy source failed; completing requests with the bytes it gave: {Reason}")]
    public static partial void SourceFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "The entropy source works again")]
    public static partial void SourceRecovered(ILogger logger);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Trace, Message = "Rate limit reached; resuming in {Delay}")]
    public static partial void Throttled(ILogger logger, TimeSpan delay);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Trace, Message = "Request {Head}: {Written} bytes")]
    public static partial void Completed(ILogger logger, ushort head, uint written);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "rng device: source {Source}, {Limit}")]
    public static partial void Configured(ILogger logger, string source, string limit);
}
