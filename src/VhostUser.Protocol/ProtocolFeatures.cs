// SPDX-License-Identifier: MIT
using System;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// vhost-user protocol feature bits (<c>VHOST_USER_PROTOCOL_F_*</c>), negotiated with
/// <c>GET_PROTOCOL_FEATURES</c>/<c>SET_PROTOCOL_FEATURES</c> once the virtio feature bit
/// <see cref="ProtocolFeatureBits.VhostUserFProtocolFeatures"/> has been offered.
/// </summary>
[Flags]
public enum ProtocolFeatures : ulong
{
    /// <summary>No protocol features.</summary>
    None = 0,

    /// <summary>Multiple queues; <c>GET_QUEUE_NUM</c> is available.</summary>
    Mq = 1UL << 0,

    /// <summary>Dirty log in shared memory.</summary>
    LogShmfd = 1UL << 1,

    /// <summary>Gratuitous ARP (net).</summary>
    Rarp = 1UL << 2,

    /// <summary>The front end may set <c>NEED_REPLY</c> and the back end then acknowledges.</summary>
    ReplyAck = 1UL << 3,

    /// <summary>Net MTU.</summary>
    NetMtu = 1UL << 4,

    /// <summary>The back-end request channel (<c>SET_BACKEND_REQ_FD</c>).</summary>
    BackendReq = 1UL << 5,

    /// <summary>Cross-endian rings.</summary>
    CrossEndian = 1UL << 6,

    /// <summary>Crypto sessions.</summary>
    CryptoSession = 1UL << 7,

    /// <summary>Post-copy page faults.</summary>
    Pagefault = 1UL << 8,

    /// <summary>Device config space through <c>GET_CONFIG</c>/<c>SET_CONFIG</c>.</summary>
    Config = 1UL << 9,

    /// <summary>The back end may send fds on its channel.</summary>
    BackendSendFd = 1UL << 10,

    /// <summary>Host notifiers.</summary>
    HostNotifier = 1UL << 11,

    /// <summary>Inflight tracking in shared memory (<c>GET_INFLIGHT_FD</c>/<c>SET_INFLIGHT_FD</c>).</summary>
    InflightShmfd = 1UL << 12,

    /// <summary><c>RESET_DEVICE</c>.</summary>
    ResetDevice = 1UL << 13,

    /// <summary>Notifications through the socket instead of eventfds.</summary>
    InbandNotifications = 1UL << 14,

    /// <summary><c>GET_MAX_MEM_SLOTS</c>, <c>ADD_MEM_REG</c> and <c>REM_MEM_REG</c>.</summary>
    ConfigureMemSlots = 1UL << 15,

    /// <summary><c>GET_STATUS</c>/<c>SET_STATUS</c>.</summary>
    Status = 1UL << 16,

    /// <summary>Xen mappings.</summary>
    XenMmap = 1UL << 17,

    /// <summary>Shared objects.</summary>
    SharedObject = 1UL << 18,

    /// <summary>Device state transfer.</summary>
    DeviceState = 1UL << 19,
}

/// <summary>Virtio feature bits that belong to vhost-user itself rather than to a device.</summary>
public static class ProtocolFeatureBits
{
    /// <summary>
    /// <c>VHOST_USER_F_PROTOCOL_FEATURES</c> (bit 30 of the virtio features): the back end supports
    /// protocol feature negotiation, and rings start disabled until <c>SET_VRING_ENABLE</c>.
    /// </summary>
    public const ulong VhostUserFProtocolFeatures = 1UL << 30;
}
