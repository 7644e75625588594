// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Loopback.Profiles;

/// <summary>Where a device type's config space comes from.</summary>
public enum BackendConfig
{
    /// <summary>The front end builds all of it (fs, net) or there is none (rng, i2c, scmi).</summary>
    None,

    /// <summary>Taken from the back end when it offers <c>VHOST_USER_PROTOCOL_F_CONFIG</c>; the type copes without.</summary>
    Optional,

    /// <summary>
    /// The spec has the device provide it (blk capacity, input's select/subsel answers, gpio line
    /// count, sound streams): a back end without <c>VHOST_USER_PROTOCOL_F_CONFIG</c> cannot serve the type.
    /// </summary>
    Required,
}
