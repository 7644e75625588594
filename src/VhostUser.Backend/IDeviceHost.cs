// SPDX-License-Identifier: MIT
using Microsoft.Extensions.Logging;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>What the back end offers a device beyond its vrings.</summary>
public interface IDeviceHost
{
    /// <summary>Creates loggers in the back end's configured format and level.</summary>
    ILoggerFactory LoggerFactory { get; }

    /// <summary>
    /// Tells the front end that config space changed (<c>VHOST_USER_BACKEND_CONFIG_CHANGE_MSG</c> on the
    /// back-end channel). Returns false when no channel is connected or the send failed.
    /// </summary>
    bool NotifyConfigChanged();
}
