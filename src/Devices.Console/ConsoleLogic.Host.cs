// SPDX-License-Identifier: MIT
using System;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console;

/// <summary>The host side of the ports: peers arriving and leaving, pty polling, fd watches.</summary>
public sealed partial class ConsoleLogic
{
    /// <summary>Watches listening sockets and arms the pty poll timer on the host queue.</summary>
    private void WatchHostSides()
    {
        if (_scheduler is null)
        {
            return;
        }

        bool polling = false;
        foreach (ConsolePort port in _ports)
        {
            polling |= port.Endpoint.NeedsPolling;
            if (port.Endpoint.ListenFd is { } listen && !port.Endpoint.IsConnected)
            {
                port.ListenToken = NewToken(port.Id, KindListen);
                _scheduler.Watch(port.ListenToken, listen, HostQueue, EpollEvents.In);
            }
        }

        if (polling)
        {
            if (_pollTimer is null)
            {
                _pollTimer = TimerFd.CreateMonotonic();
                _pollTimer.Arm(PollPeriod, PollPeriod);
            }

            _timerToken = NewToken(0, KindTimer);
            _scheduler.Watch(_timerToken, _pollTimer.Handle, HostQueue, EpollEvents.In);
        }
    }

    private void UnwatchHostSides()
    {
        foreach (ConsolePort port in _ports)
        {
            UnwatchListen(port);
        }

        _timerToken = Unwatch(_timerToken);
    }

    private void UnwatchListen(ConsolePort port) => port.ListenToken = Unwatch(port.ListenToken);

    /// <summary>Watches the peer's fd for data, on the port's receive queue.</summary>
    private void WatchRx(ConsolePort port) =>
        port.RxToken = WatchData(port, port.RxToken, KindRx, ConsoleWire.ReceiveQueue(port.Id), EpollEvents.In);

    private void UnwatchRx(ConsolePort port) => port.RxToken = Unwatch(port.RxToken);

    /// <summary>Watches the peer's fd for room, on the port's transmit queue.</summary>
    private void WatchTx(ConsolePort port) =>
        port.TxToken = WatchData(port, port.TxToken, KindTx, ConsoleWire.TransmitQueue(port.Id), EpollEvents.Out);

    private void UnwatchTx(ConsolePort port) => port.TxToken = Unwatch(port.TxToken);

    // Watches the peer's fd for one queue unless a watch (token) already runs; returns the watch's token.
    private ulong WatchData(ConsolePort port, ulong token, ulong kind, int queue, EpollEvents events)
    {
        if (token != 0 || port.Endpoint.DataFd is not { } fd || _scheduler is null)
        {
            return token;
        }

        token = NewToken(port.Id, kind);
        _scheduler.Watch(token, fd, queue, events);
        return token;
    }

    // Ends the watch (if any) and returns the "no watch" token.
    private ulong Unwatch(ulong token)
    {
        if (token != 0)
        {
            _scheduler?.Unwatch(token);
        }

        return 0;
    }

    /// <summary>Starts the console's wait for a peer that takes no output (see <see cref="ConsoleStall"/>).</summary>
    private void StartStallTimer(ConsolePort port)
    {
        if (port.StallToken != 0 || _scheduler is null)
        {
            return;
        }

        port.StallTimer ??= TimerFd.CreateMonotonic();
        port.StallTimer.Arm(ConsoleStall, TimeSpan.Zero);
        port.StallToken = NewToken(port.Id, KindStall);
        _scheduler.Watch(port.StallToken, port.StallTimer.Handle, ConsoleWire.TransmitQueue(port.Id), EpollEvents.In);
    }

    private void StopStallTimer(ConsolePort port)
    {
        if (port.StallToken == 0)
        {
            return;
        }

        _scheduler?.Unwatch(port.StallToken);
        port.StallToken = 0;
        port.StallTimer?.Disarm();
        port.StallTimer?.TryRead(out _);
    }

    /// <summary>A client knocks on a port's socket.</summary>
    private void AcceptPeer(ConsolePort port)
    {
        if (port.Endpoint.TryConnect(out int errno))
        {
            PeerConnected(port);
        }
        else if (errno != 0)
        {
            Log.AcceptFailed(_logger, port.Id, Errno.Describe(errno));
        }
    }

    /// <summary>The poll timer: pty peers coming and going, and their window sizes.</summary>
    private void PollPtys()
    {
        foreach (ConsolePort port in _ports)
        {
            if (!port.Endpoint.NeedsPolling)
            {
                continue;
            }

            bool was = port.Endpoint.IsConnected;
            bool now = port.Endpoint.PollPeer();
            if (now && !was)
            {
                PeerConnected(port);
            }
            else if (!now && was)
            {
                PeerGone(port, 0);
            }

            if (RefreshSize(port) && port.GuestReady && port.IsConsole)
            {
                port.Pending |= PendingControl.Resize;
                Wake(ConsoleWire.ControlReceiveQueue);
            }
        }
    }

    /// <summary>Reads the endpoint's window size; true when it changed.</summary>
    private static bool RefreshSize(ConsolePort port)
    {
        if (!port.Endpoint.TryGetWindowSize(out ushort cols, out ushort rows) || (cols == port.Cols && rows == port.Rows))
        {
            return false;
        }

        port.Cols = cols;
        port.Rows = rows;
        return true;
    }

    private void PeerConnected(ConsolePort port)
    {
        UnwatchListen(port);
        Log.PeerConnected(_logger, port.Id);
        if (port.GuestReady && _multiport)
        {
            port.Pending |= PendingControl.Open;
            port.OpenValue = true;
            Wake(ConsoleWire.ControlReceiveQueue);
        }

        Wake(ConsoleWire.ReceiveQueue(port.Id));
    }

    /// <summary>
    /// The peer left (end of file, an error, a pty's slave closed) or is sent away (the driver closed
    /// the port): stop watching it, listen again, and tell the driver.
    /// </summary>
    private void PeerGone(ConsolePort port, int errno)
    {
        port.Endpoint.Hangup();
        UnwatchRx(port);
        UnwatchTx(port);
        StopStallTimer(port);
        port.TxDropping = false;
        if (errno == 0 || errno == LibC.EIO || errno == LibC.ECONNRESET)
        {
            Log.PeerLeft(_logger, port.Id, port.BytesToHost, port.BytesToGuest);
        }
        else
        {
            Log.PeerFailed(_logger, port.Id, Errno.Describe(errno));
        }

        if (port.Endpoint.ListenFd is { } listen && port.ListenToken == 0 && _scheduler is not null)
        {
            port.ListenToken = NewToken(port.Id, KindListen);
            _scheduler.Watch(port.ListenToken, listen, HostQueue, EpollEvents.In);
        }

        if (port.GuestReady && _multiport)
        {
            port.Pending |= PendingControl.Open;
            port.OpenValue = false;
            Wake(ConsoleWire.ControlReceiveQueue);
        }

        // A transmit chain held for the peer completes now, its rest dropped.
        Wake(ConsoleWire.TransmitQueue(port.Id));
    }
}
