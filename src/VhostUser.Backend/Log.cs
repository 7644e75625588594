// SPDX-License-Identifier: MIT
using System;
using Microsoft.Extensions.Logging;
using VirtioLoopback.GuestMemory;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// Every log event of the back end, source-generated. EventIds are stable (tools may match on them):
/// 1-19 server and connection, 20-59 request handling, 60-89 vrings, 90-99 workers.
/// Per-descriptor events are Trace and their callers check <see cref="ILogger.IsEnabled"/> first.
/// </summary>
internal static partial class Log
{
    // ---- Server (1-19) ----
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on {Path}")]
    public static partial void Listening(ILogger logger, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Serving the connected socket fd {Fd}")]
    public static partial void ServingFd(ILogger logger, int fd);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Front end connected")]
    public static partial void Connected(ILogger logger);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Front end disconnected; rings stopped and device reset")]
    public static partial void Disconnected(ILogger logger);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Unrecoverable framing error ({Error}); closing the connection")]
    public static partial void FramingError(ILogger logger, string error);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Shutting down")]
    public static partial void ShuttingDown(ILogger logger);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Accepting a connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "The connection failed; closing it")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Listening on the inherited socket fd {Fd} (socket activation)")]
    public static partial void ListeningOnFd(ILogger logger, int fd);

    // ---- Requests (20-59) ----
    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "{Request} flags=0x{Flags:x} size={Size} fds={FdCount}")]
    public static partial void Request(ILogger logger, FrontendRequest request, uint flags, uint size, int fdCount);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Request {Request} rejected: {Reason}")]
    public static partial void RequestRejected(ILogger logger, FrontendRequest request, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Request {Request} failed: {Reason}")]
    public static partial void RequestFailed(ILogger logger, FrontendRequest request, string reason);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Request {Request} threw; answered as failed")]
    public static partial void RequestThrew(ILogger logger, Exception exception, FrontendRequest request);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "Virtio features acknowledged: 0x{Features:x}")]
    public static partial void FeaturesAcked(ILogger logger, ulong features);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Protocol features negotiated: 0x{Features:x}")]
    public static partial void ProtocolFeaturesAcked(ILogger logger, ulong features);

    [LoggerMessage(EventId = 26, Level = LogLevel.Information, Message = "Memory table set: {Count} regions")]
    public static partial void MemoryTableSet(ILogger logger, int count);

    [LoggerMessage(EventId = 27, Level = LogLevel.Debug, Message = "Memory region mapped: {Region}")]
    public static partial void RegionMapped(ILogger logger, GuestRegion region);

    [LoggerMessage(EventId = 37, Level = LogLevel.Debug, Message = "Memory region unmapped (no ring or request uses it): {Region}")]
    public static partial void RegionUnmapped(ILogger logger, GuestRegion region);

    [LoggerMessage(EventId = 28, Level = LogLevel.Debug, Message = "Memory region removed: {Region}")]
    public static partial void RegionRemoved(ILogger logger, GuestRegion region);

    [LoggerMessage(EventId = 29, Level = LogLevel.Information, Message = "Inflight region created: {Queues} queues of {QueueSize}, {Size} bytes")]
    public static partial void InflightCreated(ILogger logger, int queues, int queueSize, ulong size);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Inflight region mapped: {Queues} queues of {QueueSize}, {Size} bytes")]
    public static partial void InflightMapped(ILogger logger, int queues, int queueSize, ulong size);

    [LoggerMessage(EventId = 31, Level = LogLevel.Debug, Message = "Device status 0x{Status:x}")]
    public static partial void StatusSet(ILogger logger, byte status);

    [LoggerMessage(EventId = 32, Level = LogLevel.Information, Message = "Device reset ({Cause})")]
    public static partial void DeviceReset(ILogger logger, string cause);

    [LoggerMessage(EventId = 33, Level = LogLevel.Debug, Message = "Back-end request channel connected")]
    public static partial void BackendChannelSet(ILogger logger);

    [LoggerMessage(EventId = 34, Level = LogLevel.Debug, Message = "Config change sent to the front end")]
    public static partial void ConfigChangeSent(ILogger logger);

    [LoggerMessage(EventId = 35, Level = LogLevel.Warning, Message = "Config change notification failed: {Reason}")]
    public static partial void ConfigChangeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 36, Level = LogLevel.Error, Message = "Device reset failed")]
    public static partial void DeviceResetThrew(ILogger logger, Exception exception);

    // ---- Vrings (60-89) ----
    [LoggerMessage(EventId = 60, Level = LogLevel.Debug, Message = "vring {Index} started: size {Size}, next avail {NextAvail}, used idx {UsedIdx}, enabled {Enabled}")]
    public static partial void VringStarted(ILogger logger, int index, ushort size, ushort nextAvail, ushort usedIdx, bool enabled);

    [LoggerMessage(EventId = 61, Level = LogLevel.Debug, Message = "vring {Index} stopped at base {Base}")]
    public static partial void VringStopped(ILogger logger, int index, ushort @base);

    [LoggerMessage(EventId = 62, Level = LogLevel.Error, Message = "vring {Index} is broken: {Reason}")]
    public static partial void VringBroken(ILogger logger, int index, string reason);

    [LoggerMessage(EventId = 63, Level = LogLevel.Error, Message = "vring {Index}: device code threw")]
    public static partial void DeviceThrew(ILogger logger, Exception exception, int index);

    [LoggerMessage(EventId = 64, Level = LogLevel.Warning, Message = "vring {Index}: signalling the err eventfd failed")]
    public static partial void ErrSignalFailed(ILogger logger, Exception exception, int index);

    [LoggerMessage(EventId = 65, Level = LogLevel.Warning, Message = "vring {Index}: SET_VRING_KICK without an fd; polling is not supported, the ring stays stopped")]
    public static partial void KickWithoutFd(ILogger logger, int index);

    [LoggerMessage(EventId = 66, Level = LogLevel.Warning, Message = "vring {Index}: inflight tracking off: {Reason}")]
    public static partial void InflightUnusable(ILogger logger, int index, string reason);

    [LoggerMessage(EventId = 67, Level = LogLevel.Information, Message = "vring {Index}: resubmitting {Count} inflight requests; next avail {NextAvail}")]
    public static partial void InflightResubmitting(ILogger logger, int index, int count, ushort nextAvail);

    [LoggerMessage(EventId = 68, Level = LogLevel.Trace, Message = "vring {Index}: popped head {Head} (readable {Readable}, writable {Writable})")]
    public static partial void ChainPopped(ILogger logger, int index, ushort head, uint readable, uint writable);

    [LoggerMessage(EventId = 69, Level = LogLevel.Trace, Message = "vring {Index}: pushed head {Head}, {Written} bytes written")]
    public static partial void ChainPushed(ILogger logger, int index, ushort head, uint written);

    [LoggerMessage(EventId = 70, Level = LogLevel.Trace, Message = "vring {Index}: resubmitted head {Head}")]
    public static partial void ChainResubmitted(ILogger logger, int index, ushort head);

    // ---- Queue threads (90-99) ----
    [LoggerMessage(EventId = 90, Level = LogLevel.Debug, Message = "queue thread {Id} started")]
    public static partial void LoopStarted(ILogger logger, int id);

    [LoggerMessage(EventId = 91, Level = LogLevel.Debug, Message = "queue thread {Id} stopped")]
    public static partial void LoopStopped(ILogger logger, int id);

    [LoggerMessage(EventId = 92, Level = LogLevel.Error, Message = "queue thread {Id}: epoll_wait failed")]
    public static partial void LoopWaitFailed(ILogger logger, Exception exception, int id);

    [LoggerMessage(EventId = 93, Level = LogLevel.Warning, Message = "queue thread {Id} has not taken a control action for 5 s (is a device blocking in a callback?)")]
    public static partial void LoopSlow(ILogger logger, int id);

    [LoggerMessage(EventId = 94, Level = LogLevel.Warning, Message = "vring {Index}: the device left {Count} fds registered after Stop; removed")]
    public static partial void DeviceFdsLeftOver(ILogger logger, int index, int count);
}
