// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Devices.Input.Evdev;
using VirtioLoopback.Hid;
using VirtioLoopback.Hid.Htt;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Input.Sensitivity;

/// <summary>
/// Serves <see cref="VirtioInputConvention"/> for one HTT display: requests from the status queue
/// become feature reports on the display's hidraw node, answers go back on the event queue.
/// </summary>
/// <remarks>
/// A plug-in of the input device (<see cref="IInputPlugin"/>). A set takes seconds (the display
/// reboots), so requests run on the bridge's own thread, never on a queue's thread. One request
/// runs at a time; a request that arrives while a set runs is answered
/// <see cref="SensitivityStatus.Busy"/>. The display's node is followed across reboots (its number
/// may change).
/// </remarks>
public sealed class SensitivityBridge : IInputPlugin
{
    /// <summary>Requests waiting at most; more are answered busy.</summary>
    private const int MaxPending = 4;

    private readonly SensitivityService _service;
    private readonly EventFd _answerReady = EventFd.Create();
    private readonly object _lock = new();
    private readonly Queue<int> _requests = new();
    private readonly Queue<(SensitivityStatus Status, HttState? State)> _answers = new();
    private readonly int[] _values = new int[VirtioInputConvention.MaxAnswerValues];
    private readonly Thread _thread;
    private ILogger _logger = NullLogger.Instance;
    private HidrawNode _node;
    private bool _running;
    private bool _disposed;

    /// <summary>Creates the bridge for the display at <paramref name="node"/> and starts its thread.</summary>
    public SensitivityBridge(SensitivityService service, HidrawNode node)
    {
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _node = node ?? throw new ArgumentNullException(nameof(node));
        _thread = new Thread(Run) { IsBackground = true, Name = "sensitivity" };
        _thread.Start();
    }

    /// <inheritdoc />
    public EventFd AnswerReady => _answerReady;

    /// <summary>The display's node now.</summary>
    public HidrawNode Node
    {
        get
        {
            lock (_lock)
            {
                return _node;
            }
        }
    }

    /// <inheritdoc />
    public void SetLogger(ILogger logger) => _logger = logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public InputDeviceInfo Amend(InputDeviceInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.WithEventCode(VirtioInputConvention.EventType, VirtioInputConvention.EventCode);
    }

    /// <inheritdoc />
    public bool OnStatusEvent(InputEvent inputEvent)
    {
        if (inputEvent.Type != VirtioInputConvention.EventType || inputEvent.Code != VirtioInputConvention.EventCode)
        {
            return false;
        }

        ushort tag = VirtioInputConvention.Tag(inputEvent.Value);
        if (tag is not (VirtioInputConvention.QueryTag or VirtioInputConvention.SetTag))
        {
            // The input core passes the device's own answers back to it: not a request.
            return true;
        }

        lock (_lock)
        {
            if ((_running && tag == VirtioInputConvention.SetTag) || _requests.Count >= MaxPending)
            {
                Log.SensitivityBusy(_logger);
                AnswerLocked(SensitivityStatus.Busy, null);
                return true;
            }

            _requests.Enqueue(inputEvent.Value);
            Monitor.PulseAll(_lock);
        }

        return true;
    }

    /// <inheritdoc />
    public int TakeAnswer(Span<InputEvent> packet)
    {
        SensitivityStatus status;
        HttState? state;
        lock (_lock)
        {
            if (!_answers.TryDequeue(out (SensitivityStatus Status, HttState? State) answer))
            {
                return 0;
            }

            (status, state) = answer;
        }

        int n = VirtioInputConvention.WriteAnswer(status, state, _values);
        if (packet.Length < n + 1)
        {
            throw new ArgumentException("The packet buffer is too small for an answer.", nameof(packet));
        }

        for (int i = 0; i < n; i++)
        {
            packet[i] = new InputEvent(VirtioInputConvention.EventType, VirtioInputConvention.EventCode, _values[i]);
        }

        packet[n] = InputEvent.Report;
        return n + 1;
    }

    /// <summary>Stops the thread (a running set finishes first) and closes the eventfd.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            Monitor.PulseAll(_lock);
        }

        _thread.Join(TimeSpan.FromSeconds(1));
        _answerReady.Dispose();
    }

    private void Run()
    {
        while (true)
        {
            int request;
            HidrawNode node;
            lock (_lock)
            {
                while (_requests.Count == 0 && !_disposed)
                {
                    Monitor.Wait(_lock);
                }

                if (_disposed)
                {
                    return;
                }

                request = _requests.Dequeue();
                _running = true;
                node = _node;
            }

            SensitivityResult result = Execute(request, node);
            lock (_lock)
            {
                if (result.Node is { } now)
                {
                    _node = now;
                }

                _running = false;
                AnswerLocked(result.Status, result.State);
            }
        }
    }

    private SensitivityResult Execute(int request, HidrawNode node)
    {
        node = Locate(node);
        ushort payload = VirtioInputConvention.Payload(request);
        if (VirtioInputConvention.Tag(request) == VirtioInputConvention.QueryTag)
        {
            SensitivityResult got = _service.Get(node);
            string state = Output(got);
            Log.SensitivityQueried(_logger, node.Path, state);

            return got;
        }

        if (payload > (ushort)SensitivityLevel.Extra)
        {
            Log.SensitivityBadRequest(_logger, payload);
            return new SensitivityResult(SensitivityStatus.BadRequest, null, node, $"level {payload}");
        }

        var level = (SensitivityLevel)payload;
        string name = HttProtocol.Name(level);
        Log.SensitivitySetting(_logger, node.Path, name);
        SensitivityResult set = _service.Set(node, level);
        if (set.Succeeded)
        {
            Log.SensitivitySet(_logger, set.Node?.Path ?? node.Path, name, set.Message);
        }
        else
        {
            Log.SensitivitySetFailed(_logger, node.Path, name, set.Message);
        }

        return set;
    }

    /// <summary>The display's node now: the last one known, or the same device found again.</summary>
    private HidrawNode Locate(HidrawNode node)
    {
        if (System.IO.File.Exists(node.Path))
        {
            return node;
        }

        foreach (HidrawNode candidate in _service.FindDisplays())
        {
            if (node.SameDevice(candidate))
            {
                return candidate;
            }
        }

        return node;
    }

    private static string Output(SensitivityResult r) =>
        r.State is { } s ? $"{HttProtocol.Name(s.Controller)} {HttProtocol.FirmwareText(s.Firmware)} {(s.Sensitivity is { } l ? HttProtocol.Name(l) : "n/a")}" : r.Message;

    private void AnswerLocked(SensitivityStatus status, HttState? state)
    {
        _answers.Enqueue((status, state));
        _answerReady.Signal();
    }
}
