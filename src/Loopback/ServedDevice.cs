// SPDX-License-Identifier: MIT
using System;
using System.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VirtioLoopback.Loopback;

/// <summary>
/// One device of an adapter process and its back end's life: waiting for the back end's socket,
/// running, or lost and being reconnected with back-off. Time comes in as milliseconds so the
/// schedule is testable; the adapter's loop calls <see cref="Poll"/> whenever it wakes.
/// </summary>
public sealed class ServedDevice : IDisposable
{
    /// <summary>The first retry delay after the back end is lost.</summary>
    public const int FirstBackoffMs = 100;

    /// <summary>The longest delay between two attempts.</summary>
    public const int MaxBackoffMs = 5000;

    private readonly ILogger _logger;
    private int _backoffMs = FirstBackoffMs;
    private long _nextAttempt;
    private bool _announced;

    /// <summary>Wraps a device not yet created.</summary>
    /// <param name="device">The device.</param>
    /// <param name="socketPath">The back end's socket (for messages).</param>
    /// <param name="logger">Where to log.</param>
    public ServedDevice(LoopbackDevice device, string socketPath, ILogger? logger = null)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        SocketPath = socketPath ?? throw new ArgumentNullException(nameof(socketPath));
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Where this device is in its back end's life.</summary>
    public enum Phase
    {
        /// <summary>The kernel device does not exist yet: the back end was never reached.</summary>
        WaitingForBackend,

        /// <summary>The kernel device exists and its back end is connected.</summary>
        Running,

        /// <summary>The back end hung up; the kernel device stays and its I/O waits.</summary>
        Reconnecting,
    }

    /// <summary>The device.</summary>
    public LoopbackDevice Device { get; }

    /// <summary>The back end's socket.</summary>
    public string SocketPath { get; }

    /// <summary>The current phase.</summary>
    public Phase State { get; private set; }

    /// <summary>
    /// Moves the device on: creates it once its back end answers, notices a lost back end and
    /// retries it on schedule. A creation that the back end or the module refuses throws
    /// <see cref="IOException"/> or <see cref="InvalidOperationException"/>: that is a
    /// configuration error, not something waiting cures.
    /// </summary>
    /// <param name="now">The current time in milliseconds (a monotonic clock).</param>
    public void Poll(long now)
    {
        // The back end broke a rule: the kernel device failed for good. Destroy it and start
        // over, as for a back end seen for the first time (after the longest back-off: a back end
        // that breaks the rules again gets at most one device per MaxBackoffMs).
        if (State != Phase.WaitingForBackend && Device.IsBroken)
        {
            Device.Destroy();
            Log.Recreating(_logger, Device.DeviceId, SocketPath);
            State = Phase.WaitingForBackend;
            _announced = false;
            _nextAttempt = now + MaxBackoffMs;
            return;
        }

        switch (State)
        {
            case Phase.WaitingForBackend when now >= _nextAttempt:
                try
                {
                    Device.Create();
                    State = Phase.Running;
                }
                catch (TimeoutException)
                {
                    if (!_announced)
                    {
                        Log.WaitingForBackend(_logger, SocketPath);
                        _announced = true;
                    }

                    // The socket is not there yet: it is cheap to look again soon.
                    _nextAttempt = now + 200;
                }

                break;
            case Phase.Running when !Device.IsBackendConnected:
                Device.OnBackendLost();
                State = Phase.Reconnecting;
                _backoffMs = FirstBackoffMs;
                _nextAttempt = now + _backoffMs;
                break;
            case Phase.Reconnecting when now >= _nextAttempt:
                if (Device.TryReconnect())
                {
                    State = Phase.Running;
                }
                else
                {
                    _backoffMs = Math.Min(_backoffMs * 2, MaxBackoffMs);
                    _nextAttempt = now + _backoffMs;
                }

                break;
            default:
                break;
        }
    }

    /// <summary>How long the loop may sleep before this device needs <see cref="Poll"/> again (-1: only on events).</summary>
    public int TimeoutMs(long now) => State switch
    {
        // A running device is also polled periodically: a hang-up is noticed by its reader thread.
        Phase.Running => 250,
        _ => (int)Math.Clamp(_nextAttempt - now, 0, MaxBackoffMs),
    };

    /// <summary>Stops the back end's rings and destroys the kernel device.</summary>
    public void Destroy() => Device.Destroy();

    /// <inheritdoc/>
    public void Dispose() => Device.Dispose();
}
