// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// Requests the front end sends on the main socket (<c>VHOST_USER_*</c> in vhost-user.rst,
/// "Front-end message types"). Numbers are wire values and never change.
/// </summary>
public enum FrontendRequest : uint
{
    /// <summary>Not a request; 0 is never sent.</summary>
    None = 0,

    /// <summary><c>VHOST_USER_GET_FEATURES</c>: reply u64 virtio features.</summary>
    GetFeatures = 1,

    /// <summary><c>VHOST_USER_SET_FEATURES</c>: u64 acknowledged features.</summary>
    SetFeatures = 2,

    /// <summary><c>VHOST_USER_SET_OWNER</c>: session start.</summary>
    SetOwner = 3,

    /// <summary><c>VHOST_USER_RESET_OWNER</c>: deprecated; back ends ignore it or disable all rings.</summary>
    ResetOwner = 4,

    /// <summary><c>VHOST_USER_SET_MEM_TABLE</c>: memory table plus one fd per region.</summary>
    SetMemTable = 5,

    /// <summary><c>VHOST_USER_SET_LOG_BASE</c>: dirty log area (with an fd under <c>LOG_SHMFD</c>).</summary>
    SetLogBase = 6,

    /// <summary><c>VHOST_USER_SET_LOG_FD</c>: eventfd signalled when the log changed.</summary>
    SetLogFd = 7,

    /// <summary><c>VHOST_USER_SET_VRING_NUM</c>: queue size.</summary>
    SetVringNum = 8,

    /// <summary><c>VHOST_USER_SET_VRING_ADDR</c>: ring addresses (front-end virtual addresses).</summary>
    SetVringAddr = 9,

    /// <summary><c>VHOST_USER_SET_VRING_BASE</c>: next available index to process.</summary>
    SetVringBase = 10,

    /// <summary><c>VHOST_USER_GET_VRING_BASE</c>: stops the ring; reply with its next available index.</summary>
    GetVringBase = 11,

    /// <summary><c>VHOST_USER_SET_VRING_KICK</c>: kick eventfd (or the no-fd bit: poll).</summary>
    SetVringKick = 12,

    /// <summary><c>VHOST_USER_SET_VRING_CALL</c>: call (interrupt) eventfd.</summary>
    SetVringCall = 13,

    /// <summary><c>VHOST_USER_SET_VRING_ERR</c>: error eventfd.</summary>
    SetVringErr = 14,

    /// <summary><c>VHOST_USER_GET_PROTOCOL_FEATURES</c>: reply u64 protocol features.</summary>
    GetProtocolFeatures = 15,

    /// <summary><c>VHOST_USER_SET_PROTOCOL_FEATURES</c>: u64 negotiated protocol features.</summary>
    SetProtocolFeatures = 16,

    /// <summary><c>VHOST_USER_GET_QUEUE_NUM</c>: reply u64 maximum queue count.</summary>
    GetQueueNum = 17,

    /// <summary><c>VHOST_USER_SET_VRING_ENABLE</c>: enable (1) or disable (0) a ring.</summary>
    SetVringEnable = 18,

    /// <summary><c>VHOST_USER_SEND_RARP</c> (net).</summary>
    SendRarp = 19,

    /// <summary><c>VHOST_USER_NET_SET_MTU</c> (net).</summary>
    NetSetMtu = 20,

    /// <summary><c>VHOST_USER_SET_BACKEND_REQ_FD</c> (formerly <c>SET_SLAVE_REQ_FD</c>): socket for back-end requests.</summary>
    SetBackendReqFd = 21,

    /// <summary><c>VHOST_USER_IOTLB_MSG</c>: IOTLB update or invalidation; reply u64.</summary>
    IotlbMsg = 22,

    /// <summary><c>VHOST_USER_SET_VRING_ENDIAN</c>: legacy ring endianness.</summary>
    SetVringEndian = 23,

    /// <summary><c>VHOST_USER_GET_CONFIG</c>: reply with device config space bytes.</summary>
    GetConfig = 24,

    /// <summary><c>VHOST_USER_SET_CONFIG</c>: write device config space bytes.</summary>
    SetConfig = 25,

    /// <summary><c>VHOST_USER_CREATE_CRYPTO_SESSION</c>.</summary>
    CreateCryptoSession = 26,

    /// <summary><c>VHOST_USER_CLOSE_CRYPTO_SESSION</c>.</summary>
    CloseCryptoSession = 27,

    /// <summary><c>VHOST_USER_POSTCOPY_ADVISE</c>: reply with a userfaultfd.</summary>
    PostcopyAdvise = 28,

    /// <summary><c>VHOST_USER_POSTCOPY_LISTEN</c>.</summary>
    PostcopyListen = 29,

    /// <summary><c>VHOST_USER_POSTCOPY_END</c>: reply u64.</summary>
    PostcopyEnd = 30,

    /// <summary><c>VHOST_USER_GET_INFLIGHT_FD</c>: reply with the inflight area and its fd.</summary>
    GetInflightFd = 31,

    /// <summary><c>VHOST_USER_SET_INFLIGHT_FD</c>: hand the inflight area back after a reconnect.</summary>
    SetInflightFd = 32,

    /// <summary><c>VHOST_USER_GPU_SET_SOCKET</c>.</summary>
    GpuSetSocket = 33,

    /// <summary><c>VHOST_USER_RESET_DEVICE</c>: disable all rings and reset device state.</summary>
    ResetDevice = 34,

    /// <summary><c>VHOST_USER_VRING_KICK</c>: in-band kick.</summary>
    VringKick = 35,

    /// <summary><c>VHOST_USER_GET_MAX_MEM_SLOTS</c>: reply u64.</summary>
    GetMaxMemSlots = 36,

    /// <summary><c>VHOST_USER_ADD_MEM_REG</c>: one region plus its fd.</summary>
    AddMemReg = 37,

    /// <summary><c>VHOST_USER_REM_MEM_REG</c>: remove one region.</summary>
    RemMemReg = 38,

    /// <summary><c>VHOST_USER_SET_STATUS</c>: u64 virtio device status.</summary>
    SetStatus = 39,

    /// <summary><c>VHOST_USER_GET_STATUS</c>: reply u64 device status.</summary>
    GetStatus = 40,

    /// <summary><c>VHOST_USER_GET_SHARED_OBJECT</c>: UUID; reply with a dma-buf fd.</summary>
    GetSharedObject = 41,

    /// <summary><c>VHOST_USER_SET_DEVICE_STATE_FD</c>: migration state pipe.</summary>
    SetDeviceStateFd = 42,

    /// <summary><c>VHOST_USER_CHECK_DEVICE_STATE</c>: reply u64 result of the state transfer.</summary>
    CheckDeviceState = 43,
}
