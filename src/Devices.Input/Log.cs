// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Input;

/// <summary>Log messages of the input device. Event ids 1800-1899 are this assembly's; never reuse one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "Serving {Path} ({Name}){Grab}")]
    public static partial void Opened(ILogger logger, string path, string name, string grab);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "{Path} is gone; retrying every {Period} ms")]
    public static partial void DeviceGone(ILogger logger, string path, int period);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Information, Message = "{Path} is back")]
    public static partial void DeviceBack(ILogger logger, string path);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Debug, Message = "Reopening {Path} failed: errno {Errno}")]
    public static partial void ReopenFailed(ILogger logger, string path, int errno);

    [LoggerMessage(EventId = 1804, Level = LogLevel.Warning, Message = "{Path} now describes a different device; config change sent to the front end: {Sent}")]
    public static partial void ConfigChanged(ILogger logger, string path, bool sent);

    [LoggerMessage(EventId = 1805, Level = LogLevel.Warning, Message = "Event backlog full (driver not taking events): dropped the oldest packets, {Dropped} so far; state will be resynchronised")]
    public static partial void BacklogOverflow(ILogger logger, long dropped);

    [LoggerMessage(EventId = 1806, Level = LogLevel.Debug, Message = "The kernel dropped events (SYN_DROPPED); resynchronising state")]
    public static partial void SynDropped(ILogger logger);

    [LoggerMessage(EventId = 1807, Level = LogLevel.Debug, Message = "Status buffer {Head} of {Length} bytes is not a whole number of events")]
    public static partial void ShortStatusBuffer(ILogger logger, ushort head, uint length);

    [LoggerMessage(EventId = 1808, Level = LogLevel.Debug, Message = "Ignored status event type {Type} code {Code}")]
    public static partial void IgnoredStatus(ILogger logger, ushort type, ushort code);

    [LoggerMessage(EventId = 1809, Level = LogLevel.Warning, Message = "Writing status event type {Type} code {Code} to the device failed: errno {Errno}")]
    public static partial void StatusWriteFailed(ILogger logger, ushort type, ushort code, int errno);

    [LoggerMessage(EventId = 1810, Level = LogLevel.Trace, Message = "Delivered {Count} events")]
    public static partial void Delivered(ILogger logger, int count);

    [LoggerMessage(EventId = 1817, Level = LogLevel.Debug, Message = "Plug-in answer of {Count} events queued for the driver")]
    public static partial void PluginAnswered(ILogger logger, int count);
}
