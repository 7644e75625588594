// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Loopback;

/// <summary>Source-generated log messages. Event ids: 1-19 device lifecycle, 20-29 events, 30-39 back end.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Device {DeviceId} ({Type}) created: handle {Handle}, {Queues} queue(s) of up to {QueueSize}, features 0x{Features:x}, pool {PoolSize} bytes at DMA 0x{DmaBase:x}, config {ConfigSize} bytes")]
    internal static partial void Created(ILogger logger, uint deviceId, string type, uint handle, uint queues, uint queueSize, ulong features, ulong poolSize, ulong dmaBase, int configSize);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Device handle {Handle} destroyed")]
    internal static partial void Destroyed(ILogger logger, uint handle);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Back end offers features 0x{Features:x}, protocol features 0x{Protocol:x} (using 0x{Used:x})")]
    internal static partial void BackendFeatures(ILogger logger, ulong features, ulong protocol, ulong used);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Queue {Queue} started: size {Size}, base {Base}, desc 0x{Desc:x} avail 0x{Avail:x} used 0x{Used:x}")]
    internal static partial void QueueStarted(ILogger logger, uint queue, uint size, uint @base, ulong desc, ulong avail, ulong used);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Queue {Queue} stopped at avail index {Base}")]
    internal static partial void QueueStopped(ILogger logger, uint queue, uint @base);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Queue {Queue} is not ready at DRIVER_OK; left stopped")]
    internal static partial void QueueNotReady(ILogger logger, uint queue);

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "Event {Type} seq {Seq} flags {Flags}")]
    internal static partial void Event(ILogger logger, LoopbackEventType type, ulong seq, uint flags);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "Handling event {Type} seq {Seq} failed")]
    internal static partial void EventFailed(ILogger logger, LoopbackEventType type, ulong seq, Exception exception);

    [LoggerMessage(EventId = 22, Level = LogLevel.Debug, Message = "Driver accepted features 0x{Features:x}")]
    internal static partial void FeaturesOk(ILogger logger, ulong features);

    [LoggerMessage(EventId = 23, Level = LogLevel.Debug, Message = "Config write of {Size} bytes at {Offset} forwarded")]
    internal static partial void ConfigWritten(ILogger logger, uint size, uint offset);

    [LoggerMessage(EventId = 26, Level = LogLevel.Debug, Message = "Config write of {Size} bytes at {Offset} kept: the front end owns this config")]
    internal static partial void ConfigWriteKept(ILogger logger, uint size, uint offset);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "Back end changed its config space; driver notified")]
    internal static partial void ConfigChanged(ILogger logger);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Back end lost; the kernel device stays and waits for a reconnection")]
    internal static partial void BackendLost(ILogger logger);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Back end reconnected; set-up replayed")]
    internal static partial void BackendRestored(ILogger logger);

    [LoggerMessage(EventId = 32, Level = LogLevel.Debug, Message = "Reconnection attempt failed: {Reason}")]
    internal static partial void ReconnectFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 33, Level = LogLevel.Warning, Message = "The reconnected back end offers features 0x{Now:x}, not 0x{Before:x}")]
    internal static partial void FeaturesDiffer(ILogger logger, ulong now, ulong before);

    [LoggerMessage(EventId = 34, Level = LogLevel.Warning, Message = "Stopping the back end's rings failed")]
    internal static partial void StopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "The back end refuses queue size {Refused} ({Reason}); offering the driver {Size} instead (see --queue-size)")]
    internal static partial void QueueSizeLowered(ILogger logger, uint refused, uint size, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "The back end has no REPLY_ACK: queue size {Size} is not checked before the driver starts")]
    internal static partial void QueueSizeUnchecked(ILogger logger, uint size);

    [LoggerMessage(EventId = 25, Level = LogLevel.Error, Message = "The back end refused queue {Queue}'s set-up; the driver's I/O on it will not complete")]
    internal static partial void QueueStartFailed(ILogger logger, uint queue, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "The back end cannot run device handle {Handle}; failing it (FAIL_DEVICE) so the driver's requests end with an error")]
    internal static partial void DeviceFailed(ILogger logger, uint handle, Exception exception);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "The module refused FAIL_DEVICE for handle {Handle} (an older module?); the driver's requests keep waiting")]
    internal static partial void FailDeviceRefused(ILogger logger, uint handle, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Waiting for the back end at {SocketPath}")]
    internal static partial void WaitingForBackend(ILogger logger, string socketPath);

    [LoggerMessage(EventId = 35, Level = LogLevel.Error, Message = "The back end broke rule {Rule} on queue {Queue} of device handle {Handle}: the module revoked its pool and failed the device's requests")]
    internal static partial void Broken(ILogger logger, uint handle, uint queue, LoopbackRule rule);

    [LoggerMessage(EventId = 36, Level = LogLevel.Warning, Message = "Device {DeviceId} destroyed after its back end broke a rule; a new one is created when the back end at {SocketPath} answers again")]
    internal static partial void Recreating(ILogger logger, uint deviceId, string socketPath);

    [LoggerMessage(EventId = 37, Level = LogLevel.Information, Message = "The module withheld features {Withheld:x} the back end offers (device type not allowed to use them)")]
    internal static partial void FeaturesWithheld(ILogger logger, ulong withheld);

    [LoggerMessage(EventId = 38, Level = LogLevel.Warning, Message = "The module no longer waited for the answer to {Type} event {Seq} (its sync_timeout_ms passed)")]
    internal static partial void EventDoneLate(ILogger logger, LoopbackEventType type, ulong seq);

    [LoggerMessage(EventId = 39, Level = LogLevel.Error, Message = "The back end reports a broken vring on device handle {Handle} (SET_VRING_ERR); failing the device so the driver's requests end with an error")]
    internal static partial void VringErrorReported(ILogger logger, uint handle);

    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "A vring error signal with no running device (handle {Handle}); ignored")]
    internal static partial void VringErrorIgnored(ILogger logger, uint handle);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "The back end refused SET_VRING_ERR for queue {Queue} ({Reason}); if it breaks that ring, the driver's requests there will wait")]
    internal static partial void VringErrRefused(ILogger logger, uint queue, string reason);
}
