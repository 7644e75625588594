// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Blk;

/// <summary>
/// The block device's log events. EventIds are stable (2000-2099 belong to Devices.Blk); add new
/// events at the end and never reuse a retired id.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information,
        Message = "Serving {Path} ({Kind}): {Capacity} sectors, block size {BlockSize}, {Mode}, {Queues} queue(s) of up to {QueueSize}")]
    public static partial void ImageOpened(ILogger logger, string path, string kind, ulong capacity, uint blockSize, string mode, int queues, int queueSize);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug,
        Message = "Queue {Queue} started: size {Size}, {Slots} request slots, {Threads} I/O threads, io_uring {Uring}")]
    public static partial void QueueStarted(ILogger logger, int queue, int size, int slots, int threads, bool uring);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug,
        Message = "Queue {Queue} stopped after waiting for {InFlight} in-flight request(s)")]
    public static partial void QueueStopped(ILogger logger, int queue, int inFlight);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Queue {Queue} is broken: {Reason}")]
    public static partial void QueueBroken(ILogger logger, int queue, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Trace,
        Message = "Request head {Head}: type {Type} sector {Sector}, {Readable} readable and {Writable} writable bytes")]
    public static partial void Request(ILogger logger, ushort head, uint type, ulong sector, ulong readable, ulong writable);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning,
        Message = "{Type} at sector {Sector} failed: {Call} errno {Errno} ({Error})")]
    public static partial void IoFailed(ILogger logger, BlkRequestType type, ulong sector, string call, int errno, string error);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning,
        Message = "{Type} at sector {Sector} stopped short with {Remaining} bytes left (did the image shrink?)")]
    public static partial void ShortIo(ILogger logger, BlkRequestType type, ulong sector, long remaining);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information,
        Message = "fallocate mode {Mode} is not supported by the image's file system; falling back")]
    public static partial void FallocateUnsupported(ILogger logger, FallocateMode mode);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Debug,
        Message = "fallocate mode {Mode} at sector {Sector} failed with errno {Errno} ({Error}); falling back")]
    public static partial void FallocateFailed(ILogger logger, FallocateMode mode, ulong sector, int errno, string error);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Write cache mode is now {Mode}")]
    public static partial void CacheMode(ILogger logger, string mode);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Debug,
        Message = "Config write of {Length} byte(s) at offset {Offset} refused")]
    public static partial void ConfigWriteRefused(ILogger logger, int offset, int length);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information,
        Message = "Capacity changed from {Old} to {New} sectors; config change notified: {Notified}")]
    public static partial void CapacityChanged(ILogger logger, ulong old, ulong @new, bool notified);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error, Message = "Could not re-read the image size: {Error}")]
    public static partial void ResizeFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Error,
        Message = "Queue {Queue} I/O thread caught an unexpected exception; the request fails with IOERR")]
    public static partial void IoThreadFault(ILogger logger, int queue, System.Exception exception);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Debug,
        Message = "Request head {Head} on queue {Queue} completed immediately with {Status}")]
    public static partial void CompletedImmediately(ILogger logger, int queue, ushort head, BlkStatus status);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning,
        Message = "Queue {Queue}: io_uring unavailable ({Error}); its reads and writes go to I/O threads")]
    public static partial void UringUnavailable(ILogger logger, int queue, string error);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Information,
        Message = "Queue {Queue}: io_uring could not register guest memory as fixed buffers ({Error}; RLIMIT_MEMLOCK below the memory's size?); every request goes vectored")]
    public static partial void UringFixedRefused(ILogger logger, int queue, string error);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "I/O engine: {Engine}")]
    public static partial void IoEngineChosen(ILogger logger, string engine);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Debug,
        Message = "Queue {Queue}: guest memory registered with io_uring as {Count} fixed buffer(s)")]
    public static partial void UringFixedRegistered(ILogger logger, int queue, int count);

    [LoggerMessage(EventId = 2019, Level = LogLevel.Debug,
        Message = "Queue {Queue}: guest memory is a device or file mapping, which io_uring cannot register; every request goes vectored")]
    public static partial void UringFixedUnsupported(ILogger logger, int queue);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information,
        Message = "Direct I/O (O_DIRECT): buffers aligned to {MemoryAlignment} bytes, offsets and lengths to {OffsetAlignment}; other transfers go through the page cache")]
    public static partial void DirectIo(ILogger logger, uint memoryAlignment, uint offsetAlignment);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information,
        Message = "A {Type} at sector {Sector} is not aligned for direct I/O: it and any like it go through the page cache (logged once)")]
    public static partial void UnalignedDirect(ILogger logger, BlkRequestType type, ulong sector);
}
