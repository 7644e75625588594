// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.Devices.Console;

/// <summary>Log messages of the console device. Event ids 4300-4399 are this assembly's; never reuse one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4300, Level = LogLevel.Information, Message = "Port {Port}: {Description}")]
    public static partial void PortConfigured(ILogger logger, int port, string description);

    [LoggerMessage(EventId = 4301, Level = LogLevel.Information, Message = "Port {Port}: peer connected")]
    public static partial void PeerConnected(ILogger logger, int port);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "Port {Port}: peer left ({ToHost} bytes to it, {ToGuest} bytes from it so far)")]
    public static partial void PeerLeft(ILogger logger, int port, long toHost, long toGuest);

    [LoggerMessage(EventId = 4303, Level = LogLevel.Warning, Message = "Port {Port}: the peer's connection failed: {Reason}")]
    public static partial void PeerFailed(ILogger logger, int port, string reason);

    [LoggerMessage(EventId = 4304, Level = LogLevel.Warning, Message = "Port {Port}: accepting a peer failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, int port, string reason);

    [LoggerMessage(EventId = 4305, Level = LogLevel.Information, Message = "The driver is ready; announcing {Ports} port(s)")]
    public static partial void DriverReady(ILogger logger, int ports);

    [LoggerMessage(EventId = 4306, Level = LogLevel.Error, Message = "The driver reports DEVICE_READY 0: it could not set the device up")]
    public static partial void DriverFailed(ILogger logger);

    [LoggerMessage(EventId = 4307, Level = LogLevel.Error, Message = "Port {Port}: the driver reports PORT_READY 0: it could not add the port")]
    public static partial void PortFailed(ILogger logger, int port);

    [LoggerMessage(EventId = 4308, Level = LogLevel.Information, Message = "Port {Port}: the driver's side is {Open}")]
    private static partial void GuestOpenState(ILogger logger, int port, string open);

    [LoggerMessage(EventId = 4309, Level = LogLevel.Warning, Message = "Malformed control message ignored: {What} (further ones are logged at debug level)")]
    public static partial void BadControlFirst(ILogger logger, string what);

    [LoggerMessage(EventId = 4310, Level = LogLevel.Debug, Message = "Malformed control message ignored: {What} ({Count} so far)")]
    public static partial void BadControl(ILogger logger, string what, long count);

    [LoggerMessage(EventId = 4311, Level = LogLevel.Warning, Message = "Control buffer {Head} has {Length} writable bytes, the message needs {Needed}; message dropped")]
    public static partial void ControlBufferTooSmall(ILogger logger, ushort head, uint length, int needed);

    [LoggerMessage(EventId = 4312, Level = LogLevel.Debug, Message = "Port {Port}: sent {Message} (open state {Open})")]
    public static partial void ControlSent(ILogger logger, int port, PendingControl message, bool open);

    [LoggerMessage(EventId = 4313, Level = LogLevel.Warning, Message = "The driver does not use multiport: only port 0 of {Ports} is served, as its console")]
    public static partial void SinglePort(ILogger logger, int ports);

    [LoggerMessage(EventId = 4314, Level = LogLevel.Warning, Message = "Port {Port}: the peer took no console output for {Ms} ms; dropping output until it reads again (the driver waits for each console buffer with interrupts off)")]
    public static partial void ConsoleOutputDropped(ILogger logger, int port, int ms);

    [LoggerMessage(EventId = 4315, Level = LogLevel.Information, Message = "Port {Port}: the peer reads again ({Dropped} bytes dropped so far)")]
    public static partial void ConsoleOutputResumed(ILogger logger, int port, long dropped);

    public static void GuestOpen(ILogger logger, int port, bool open) => GuestOpenState(logger, port, open ? "open" : "closed");
}
