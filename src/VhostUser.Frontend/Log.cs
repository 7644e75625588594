// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.VhostUser.Frontend;

/// <summary>
/// Source-generated log messages of the front end. Event ids are stable: 1-9 the main channel,
/// 10-19 the back-end channel.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connected to vhost-user back end at {Path}")]
    internal static partial void Connected(ILogger logger, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Trace, Message = "Sending {Request} ({Size} bytes, {FdCount} fds, need reply {NeedReply})")]
    internal static partial void Sending(ILogger logger, string request, int size, int fdCount, bool needReply);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Back end rejected {Request} (acknowledgement {Value})")]
    internal static partial void Nack(ILogger logger, string request, ulong value);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "vhost-user connection lost: {Reason}")]
    internal static partial void ConnectionLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Back-end channel started")]
    internal static partial void BackendChannelStarted(ILogger logger);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Back end reports a config space change")]
    internal static partial void ConfigChangeReceived(ILogger logger);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Unsupported back-end request {Request}; answered with failure: {Answered}")]
    internal static partial void UnsupportedBackendRequest(ILogger logger, string request, bool answered);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Malformed back-end message ({Error}); closing the back-end channel")]
    internal static partial void MalformedBackendMessage(ILogger logger, string error);

    [LoggerMessage(EventId = 14, Level = LogLevel.Debug, Message = "Back-end channel closed")]
    internal static partial void BackendChannelClosed(ILogger logger);

    [LoggerMessage(EventId = 15, Level = LogLevel.Error, Message = "A ConfigChanged handler failed")]
    internal static partial void ConfigChangedHandlerFailed(ILogger logger, System.Exception exception);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "Back-end channel failed")]
    internal static partial void BackendChannelFailed(ILogger logger, System.Exception exception);
}
