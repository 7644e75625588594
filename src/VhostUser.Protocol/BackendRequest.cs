// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// Requests a back end sends on the back-end channel set up by <c>SET_BACKEND_REQ_FD</c>
/// (<c>VHOST_USER_BACKEND_*</c>, formerly <c>VHOST_USER_SLAVE_*</c>).
/// </summary>
public enum BackendRequest : uint
{
    /// <summary>Not a request; 0 is never sent.</summary>
    None = 0,

    /// <summary><c>VHOST_USER_BACKEND_IOTLB_MSG</c>: IOTLB miss or access failure.</summary>
    IotlbMsg = 1,

    /// <summary><c>VHOST_USER_BACKEND_CONFIG_CHANGE_MSG</c>: the device config space changed.</summary>
    ConfigChangeMsg = 2,

    /// <summary><c>VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG</c>: map (or drop) a queue's notify area.</summary>
    VringHostNotifierMsg = 3,

    /// <summary><c>VHOST_USER_BACKEND_VRING_CALL</c>: in-band call.</summary>
    VringCall = 4,

    /// <summary><c>VHOST_USER_BACKEND_VRING_ERR</c>: in-band error.</summary>
    VringErr = 5,

    /// <summary><c>VHOST_USER_BACKEND_SHARED_OBJECT_ADD</c>.</summary>
    SharedObjectAdd = 6,

    /// <summary><c>VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE</c>.</summary>
    SharedObjectRemove = 7,

    /// <summary><c>VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP</c>.</summary>
    SharedObjectLookup = 8,
}
