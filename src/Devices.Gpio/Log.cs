// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Gpio;

/// <summary>Log messages of the GPIO device. Event ids 4500-4599 are this assembly's; never reuse one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4500, Level = LogLevel.Information, Message = "gpio device: {Chip}, {Lines} line(s) exposed, names block {NamesSize} bytes")]
    public static partial void Configured(ILogger logger, string chip, int lines, int namesSize);

    [LoggerMessage(EventId = 4501, Level = LogLevel.Warning, Message = "Request refused with ERR: {Why} (line {Line}, value {Detail}); further ones are logged at debug level")]
    public static partial void BadRequestFirst(ILogger logger, BadRequest why, int line, uint detail);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Debug, Message = "Request refused with ERR: {Why} (line {Line}, value {Detail}; {Count} so far)")]
    public static partial void BadRequest(ILogger logger, BadRequest why, int line, uint detail, long count);

    [LoggerMessage(EventId = 4503, Level = LogLevel.Warning, Message = "{Type} on line {Line} (host line {Offset}) failed on the host: {Reason}")]
    public static partial void HostFailed(ILogger logger, GpioMessage type, int line, uint offset, string reason);

    [LoggerMessage(EventId = 4504, Level = LogLevel.Debug, Message = "{Type} line {Line} value {Value}: OK, answer {Answer}")]
    public static partial void Request(ILogger logger, GpioMessage type, int line, uint value, byte answer);

    [LoggerMessage(EventId = 4505, Level = LogLevel.Debug, Message = "Line {Line}: interrupt delivered, host edge at {EdgeNs} ns, {LatencyUs} us later")]
    public static partial void Interrupt(ILogger logger, int line, ulong edgeNs, long latencyUs);

    [LoggerMessage(EventId = 4506, Level = LogLevel.Information, Message = "{Count} interrupt(s) delivered so far; host edge to used ring: mean {MeanUs} us, max {MaxUs} us")]
    public static partial void InterruptSummary(ILogger logger, long count, long meanUs, long maxUs);

    [LoggerMessage(EventId = 4507, Level = LogLevel.Warning, Message = "Line {Line}: the host lost {Lost} edge(s) (its event buffer overflowed)")]
    public static partial void EdgesLost(ILogger logger, int line, uint lost);

    [LoggerMessage(EventId = 4508, Level = LogLevel.Error, Message = "Line {Line}: reading its edges failed ({Reason}); its interrupt stops")]
    public static partial void EdgeReadFailed(ILogger logger, int line, string reason);
}
