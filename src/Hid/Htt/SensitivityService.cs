// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Hid.Htt;

/// <summary>
/// Reads and sets the sensitivity of HTT displays over hidraw: the logic shared by the
/// <c>touch-sensitivity</c> tool and <c>vhost-user-input --hidraw</c>.
/// </summary>
/// <remarks>
/// A set is: read the controller type (refuse levels it does not support), write report 7, wait for
/// the open node to hang up (the display reboots), find the display again by vendor, product and
/// port among the hidraw nodes (its number may change), and read report 7 back. Not coming back
/// within the timeout is <see cref="SensitivityStatus.Timeout"/>, never a silent success.
/// </remarks>
/// <param name="system">The hidraw nodes.</param>
/// <param name="clock">The clock for the waits.</param>
public sealed class SensitivityService(IHidrawSystem system, IClock clock)
{
    /// <summary>How often the nodes are scanned while the display reboots.</summary>
    public const int PollIntervalMs = 100;

    private readonly IHidrawSystem _system = system ?? throw new ArgumentNullException(nameof(system));
    private readonly IClock _clock = clock ?? throw new ArgumentNullException(nameof(clock));

    /// <summary>Creates the service over the real system.</summary>
    public SensitivityService()
        : this(HidrawSystem.Default, SystemClock.Instance)
    {
    }

    /// <summary>How long a set waits for the display to come back with the new value.</summary>
    public int TimeoutMs { get; init; } = 15000;

    /// <summary>How long a set waits for the node to go away before it checks the value in place.</summary>
    public int GoneTimeoutMs { get; init; } = 5000;

    /// <summary>Every HTT display present now (by vendor and product).</summary>
    public IReadOnlyList<HidrawNode> FindDisplays()
    {
        var displays = new List<HidrawNode>();
        foreach (HidrawNode node in _system.Scan())
        {
            if (HttProtocol.IsDisplay(node))
            {
                displays.Add(node);
            }
        }

        return displays;
    }

    /// <summary>
    /// Resolves a <c>--device</c> argument: null (the only display), a number (the N-th display,
    /// from 0, in node order) or a path (which must be an HTT display).
    /// </summary>
    public bool TryResolve(string? selector, [NotNullWhen(true)] out HidrawNode? node, out string error)
    {
        node = null;
        IReadOnlyList<HidrawNode> displays;
        if (selector is not null && selector.Contains('/', StringComparison.Ordinal))
        {
            if (!_system.TryDescribe(selector, out HidrawNode? described, out int errno))
            {
                error = $"{selector}: not a hidraw node ({Errno.Describe(errno)})";
                return false;
            }

            if (!HttProtocol.IsDisplay(described))
            {
                error = $"{selector}: {described.Vendor:x4}:{described.Product:x4} is not an HTT display ({HttProtocol.Vendor:x4}:{HttProtocol.Product:x4})";
                return false;
            }

            node = described;
            error = string.Empty;
            return true;
        }

        displays = FindDisplays();
        if (selector is null)
        {
            if (displays.Count == 1)
            {
                node = displays[0];
                error = string.Empty;
                return true;
            }

            error = displays.Count == 0 ? "no HTT display found" : $"{displays.Count} HTT displays found; pick one with --device";
            return false;
        }

        if (!int.TryParse(selector, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)
            || index >= displays.Count)
        {
            error = $"--device {selector}: expected a display number below {displays.Count} or a /dev/hidrawN path";
            return false;
        }

        node = displays[index];
        error = string.Empty;
        return true;
    }

    /// <summary>Reads the type, firmware and sensitivity of the display at <paramref name="node"/>.</summary>
    public SensitivityResult Get(HidrawNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_system.TryOpen(node.Path, out IHidrawDevice? device, out int errno))
        {
            return new SensitivityResult(SensitivityStatus.IoError, null, node, $"{node.Path}: {Errno.Describe(errno)}");
        }

        using (device)
        {
            return TryRead(device, node, out HttState state, out string error)
                ? new SensitivityResult(SensitivityStatus.Ok, state, node, "ok")
                : new SensitivityResult(SensitivityStatus.IoError, null, node, error);
        }
    }

    /// <summary>Sets <paramref name="level"/> on the display at <paramref name="node"/> and verifies it after the reboot.</summary>
    public SensitivityResult Set(HidrawNode node, SensitivityLevel level)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (level > SensitivityLevel.Extra)
        {
            return new SensitivityResult(SensitivityStatus.BadRequest, null, node, $"unknown level {(byte)level}");
        }

        if (!_system.TryOpen(node.Path, out IHidrawDevice? device, out int errno))
        {
            return new SensitivityResult(SensitivityStatus.IoError, null, node, $"{node.Path}: {Errno.Describe(errno)}");
        }

        long start;
        bool gone;
        using (device)
        {
            if (!TryRead(device, node, out HttState before, out string error))
            {
                return new SensitivityResult(SensitivityStatus.IoError, null, node, error);
            }

            if (!HttProtocol.HasSensitivity(before.Controller))
            {
                return new SensitivityResult(SensitivityStatus.UnsupportedController, before, node,
                    $"{node.Path}: the {HttProtocol.Name(before.Controller)} touch controller has no sensitivity setting (only MXTxx and GT9xx have)");
            }

            if (!HttProtocol.Supports(before.Controller, level))
            {
                return new SensitivityResult(SensitivityStatus.UnsupportedLevel, before, node,
                    $"{node.Path}: the {HttProtocol.Name(before.Controller)} touch controller does not support '{HttProtocol.Name(level)}' (supported: {HttProtocol.SupportedNames(before.Controller)})");
            }

            if (before.Sensitivity == level)
            {
                return new SensitivityResult(SensitivityStatus.Unchanged, before, node, $"already {HttProtocol.Name(level)}");
            }

            start = _clock.NowMs;
            try
            {
                new HttDisplay(device).WriteSensitivity(level);
            }
            catch (SysException e)
            {
                // A display that reboots before the request completes fails it (EIO, EPIPE,
                // ENODEV): if it went away, the value read back after its return decides.
                if (!device.WaitGone(GoneTimeoutMs))
                {
                    return new SensitivityResult(SensitivityStatus.IoError, before, node, $"{node.Path}: set feature report 7: {e.Message}");
                }

                return WaitForReturn(node, level, start);
            }

            gone = device.WaitGone(GoneTimeoutMs);
        }

        return gone ? WaitForReturn(node, level, start) : VerifyInPlace(node, level, start);
    }

    private SensitivityResult WaitForReturn(HidrawNode node, SensitivityLevel level, long start)
    {
        string lastError = "it did not reappear";
        while (true)
        {
            foreach (HidrawNode candidate in _system.Scan())
            {
                if (!HttProtocol.IsDisplay(candidate) || !node.SameDevice(candidate))
                {
                    continue;
                }

                if (!_system.TryOpen(candidate.Path, out IHidrawDevice? device, out int errno))
                {
                    // udev may not have applied the node's permissions yet.
                    lastError = $"{candidate.Path}: {Errno.Describe(errno)}";
                    continue;
                }

                using (device)
                {
                    if (!TryRead(device, candidate, out HttState after, out string error))
                    {
                        lastError = error;
                        continue;
                    }

                    long elapsed = _clock.NowMs - start;
                    return after.Sensitivity == level
                        ? new SensitivityResult(SensitivityStatus.Ok, after, candidate, $"set to {HttProtocol.Name(level)} and verified after the restart", true, elapsed)
                        : new SensitivityResult(SensitivityStatus.Mismatch, after, candidate,
                            $"{candidate.Path}: came back with '{LevelText(after.Sensitivity)}', not '{HttProtocol.Name(level)}'", true, elapsed);
                }
            }

            if (_clock.NowMs - start >= TimeoutMs)
            {
                return new SensitivityResult(SensitivityStatus.Timeout, null, null,
                    $"{node.Path}: the display restarted but was not back with the new value within {TimeoutMs} ms ({lastError})", true, _clock.NowMs - start);
            }

            _clock.Sleep(PollIntervalMs);
        }
    }

    /// <summary>The node never hung up: the display did not restart; the value must already be there.</summary>
    private SensitivityResult VerifyInPlace(HidrawNode node, SensitivityLevel level, long start)
    {
        SensitivityResult now = Get(node);
        long elapsed = _clock.NowMs - start;
        if (now.State is not { } state)
        {
            return now with { ElapsedMs = elapsed };
        }

        return state.Sensitivity == level
            ? new SensitivityResult(SensitivityStatus.Ok, state, node, $"set to {HttProtocol.Name(level)} and verified (the display did not restart within {GoneTimeoutMs} ms)", false, elapsed)
            : new SensitivityResult(SensitivityStatus.Timeout, state, node,
                $"{node.Path}: the display neither restarted within {GoneTimeoutMs} ms nor took the new value (still '{LevelText(state.Sensitivity)}')", false, elapsed);
    }

    private static bool TryRead(IHidrawDevice device, HidrawNode node, out HttState state, out string error)
    {
        try
        {
            state = new HttDisplay(device).ReadState();
            error = string.Empty;
            return true;
        }
        catch (SysException e)
        {
            error = $"{node.Path}: get feature report: {e.Message}";
        }
        catch (HttProtocolException e)
        {
            error = $"{node.Path}: {e.Message}";
        }

        state = default;
        return false;
    }

    private static string LevelText(SensitivityLevel? level) => level is { } l ? HttProtocol.Name(l) : "none";
}
