// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Input.Sensitivity;

/// <summary>The sensitivity bridge's log messages (event ids 1811-1816, next to the input device's).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1811, Level = LogLevel.Information, Message = "Sensitivity: {Path} is {State}")]
    public static partial void SensitivityQueried(ILogger logger, string path, string state);

    [LoggerMessage(EventId = 1812, Level = LogLevel.Information, Message = "Sensitivity: setting {Path} to {Level} (the display restarts)")]
    public static partial void SensitivitySetting(ILogger logger, string path, string level);

    [LoggerMessage(EventId = 1813, Level = LogLevel.Information, Message = "Sensitivity: {Path} is {Level}: {Message}")]
    public static partial void SensitivitySet(ILogger logger, string path, string level, string message);

    [LoggerMessage(EventId = 1814, Level = LogLevel.Warning, Message = "Sensitivity: setting {Path} to {Level} failed: {Message}")]
    public static partial void SensitivitySetFailed(ILogger logger, string path, string level, string message);

    [LoggerMessage(EventId = 1815, Level = LogLevel.Warning, Message = "Sensitivity: request refused, a set is in progress")]
    public static partial void SensitivityBusy(ILogger logger);

    [LoggerMessage(EventId = 1816, Level = LogLevel.Warning, Message = "Sensitivity: unknown level {Level} requested")]
    public static partial void SensitivityBadRequest(ILogger logger, int level);
}
