// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>The spec's names of requests (without the <c>VHOST_USER_</c> prefix), for logs.</summary>
public static class RequestNames
{
    /// <summary>The name of front-end request <paramref name="request"/>, for example <c>GET_FEATURES</c>.</summary>
    public static string Describe(FrontendRequest request) => request switch
    {
        FrontendRequest.GetFeatures => "GET_FEATURES",
        FrontendRequest.SetFeatures => "SET_FEATURES",
        FrontendRequest.SetOwner => "SET_OWNER",
        FrontendRequest.ResetOwner => "RESET_OWNER",
        FrontendRequest.SetMemTable => "SET_MEM_TABLE",
        FrontendRequest.SetLogBase => "SET_LOG_BASE",
        FrontendRequest.SetLogFd => "SET_LOG_FD",
        FrontendRequest.SetVringNum => "SET_VRING_NUM",
        FrontendRequest.SetVringAddr => "SET_VRING_ADDR",
        FrontendRequest.SetVringBase => "SET_VRING_BASE",
        FrontendRequest.GetVringBase => "GET_VRING_BASE",
        FrontendRequest.SetVringKick => "SET_VRING_KICK",
        FrontendRequest.SetVringCall => "SET_VRING_CALL",
        FrontendRequest.SetVringErr => "SET_VRING_ERR",
        FrontendRequest.GetProtocolFeatures => "GET_PROTOCOL_FEATURES",
        FrontendRequest.SetProtocolFeatures => "SET_PROTOCOL_FEATURES",
        FrontendRequest.GetQueueNum => "GET_QUEUE_NUM",
        FrontendRequest.SetVringEnable => "SET_VRING_ENABLE",
        FrontendRequest.SendRarp => "SEND_RARP",
        FrontendRequest.NetSetMtu => "NET_SET_MTU",
        FrontendRequest.SetBackendReqFd => "SET_BACKEND_REQ_FD",
        FrontendRequest.IotlbMsg => "IOTLB_MSG",
        FrontendRequest.SetVringEndian => "SET_VRING_ENDIAN",
        FrontendRequest.GetConfig => "GET_CONFIG",
        FrontendRequest.SetConfig => "SET_CONFIG",
        FrontendRequest.CreateCryptoSession => "CREATE_CRYPTO_SESSION",
        FrontendRequest.CloseCryptoSession => "CLOSE_CRYPTO_SESSION",
        FrontendRequest.PostcopyAdvise => "POSTCOPY_ADVISE",
        FrontendRequest.PostcopyListen => "POSTCOPY_LISTEN",
        FrontendRequest.PostcopyEnd => "POSTCOPY_END",
        FrontendRequest.GetInflightFd => "GET_INFLIGHT_FD",
        FrontendRequest.SetInflightFd => "SET_INFLIGHT_FD",
        FrontendRequest.GpuSetSocket => "GPU_SET_SOCKET",
        FrontendRequest.ResetDevice => "RESET_DEVICE",
        FrontendRequest.VringKick => "VRING_KICK",
        FrontendRequest.GetMaxMemSlots => "GET_MAX_MEM_SLOTS",
        FrontendRequest.AddMemReg => "ADD_MEM_REG",
        FrontendRequest.RemMemReg => "REM_MEM_REG",
        FrontendRequest.SetStatus => "SET_STATUS",
        FrontendRequest.GetStatus => "GET_STATUS",
        FrontendRequest.GetSharedObject => "GET_SHARED_OBJECT",
        FrontendRequest.SetDeviceStateFd => "SET_DEVICE_STATE_FD",
        FrontendRequest.CheckDeviceState => "CHECK_DEVICE_STATE",
        _ => $"UNKNOWN({(uint)request})",
    };

    /// <summary>The name of back-end request <paramref name="request"/>, for example <c>CONFIG_CHANGE_MSG</c>.</summary>
    public static string Describe(BackendRequest request) => request switch
    {
        BackendRequest.IotlbMsg => "IOTLB_MSG",
        BackendRequest.ConfigChangeMsg => "CONFIG_CHANGE_MSG",
        BackendRequest.VringHostNotifierMsg => "VRING_HOST_NOTIFIER_MSG",
        BackendRequest.VringCall => "VRING_CALL",
        BackendRequest.VringErr => "VRING_ERR",
        BackendRequest.SharedObjectAdd => "SHARED_OBJECT_ADD",
        BackendRequest.SharedObjectRemove => "SHARED_OBJECT_REMOVE",
        BackendRequest.SharedObjectLookup => "SHARED_OBJECT_LOOKUP",
        _ => $"UNKNOWN({(uint)request})",
    };
}
