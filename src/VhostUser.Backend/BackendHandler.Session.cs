// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>Feature negotiation, ownership, status and reset.</summary>
public sealed partial class BackendHandler
{
    private string? GetFeatures() => Reply(OfferedFeatures);

    /// <summary>
    /// <c>SET_FEATURES</c>: the front end may only acknowledge what was offered. Without
    /// <c>VHOST_USER_F_PROTOCOL_FEATURES</c> every ring is enabled at once (vhost-user.rst, "Ring
    /// states"); with it rings stay disabled until <c>SET_VRING_ENABLE</c>.
    /// </summary>
    private string? SetFeatures(ulong features)
    {
        ulong unknown = features & ~OfferedFeatures;
        if (unknown != 0)
        {
            return $"features 0x{unknown:x} were not offered";
        }

        if (_featuresAcked && features != _ackedFeatures && AnyRingStarted())
        {
            // The device may only see a feature change while no ring runs (IVirtioDevice's contract).
            return "features cannot change while rings are started";
        }

        bool changed = !_featuresAcked || features != _ackedFeatures;
        _ackedFeatures = features;
        _featuresAcked = true;
        if (changed)
        {
            _device.OnFeaturesAcked(features);
        }

        foreach (Vring vring in _vrings)
        {
            vring.SetAckedFeatures(features);
        }

        if ((features & ProtocolFeatureBits.VhostUserFProtocolFeatures) == 0)
        {
            foreach (Vring vring in _vrings)
            {
                vring.SetEnabled(true);
            }
        }

        Log.FeaturesAcked(_logger, features);
        return null;
    }

    /// <summary><c>SET_OWNER</c> opens a session; there is nothing to claim in a back end that serves one front end.</summary>
    private static string? SetOwner() => null;

    /// <summary>
    /// <c>RESET_OWNER</c> is deprecated; vhost-user.rst recommends ignoring it or disabling all rings.
    /// Rings are disabled (not reset): some front ends sent it in the middle of a session.
    /// </summary>
    private string? ResetOwner()
    {
        foreach (Vring vring in _vrings)
        {
            vring.SetEnabled(false);
        }

        return null;
    }

    private string? GetProtocolFeatures() => Reply((ulong)OfferedProtocolFeatures);

    private string? SetProtocolFeatures(ulong features)
    {
        ulong unknown = features & ~(ulong)OfferedProtocolFeatures;
        if (unknown != 0)
        {
            return $"protocol features 0x{unknown:x} were not offered";
        }

        _protocolFeatures = (ProtocolFeatures)features;
        Log.ProtocolFeaturesAcked(_logger, features);
        return null;
    }

    /// <summary>
    /// <c>SET_STATUS</c>: the status byte is stored for <c>GET_STATUS</c>, nothing more. Zero is
    /// deliberately not a reset here: QEMU's <c>vhost_dev_stop</c> sends <c>SET_STATUS(0)</c>
    /// <em>before</em> <c>GET_VRING_BASE</c> and keeps the base it gets back (VM stop/cont, guest
    /// reset, back-end reconnect), so the rings and the inflight area must survive it. A full reset
    /// is <c>RESET_DEVICE</c>, or the end of the connection.
    /// </summary>
    private string? SetStatus(byte status)
    {
        Log.StatusSet(_logger, status);
        _status = status;
        return null;
    }

    private string? ResetDevice()
    {
        ResetDeviceState("RESET_DEVICE");
        return null;
    }

    /// <summary>
    /// Stops and resets every ring (each device <see cref="IVirtioDevice.Stop"/> runs on its worker),
    /// drops the inflight region, then resets the device. The memory table and the negotiated
    /// protocol features stay: they belong to the connection, not to the device.
    /// </summary>
    private void ResetDeviceState(string cause)
    {
        foreach (Vring vring in _vrings)
        {
            vring.Reset();
        }

        DisposeInflight();
        _ackedFeatures = 0;
        _featuresAcked = false;
        _status = 0;
        try
        {
            _device.Reset();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.DeviceResetThrew(_logger, e);
        }

        Log.DeviceReset(_logger, cause);
    }

    private bool AnyRingStarted()
    {
        foreach (Vring vring in _vrings)
        {
            if (vring.IsStarted)
            {
                return true;
            }
        }

        return false;
    }
}
