// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;

namespace VirtioLoopback.Loopback;

// Bindings of kernel-module/include/uapi/linux/virtio_loopback.h (API version 2). Every struct has
// an explicit layout with the header's offsets and size; fields not declared here are the
// header's reserved words, which stay zero because the structs are zero-initialized.

/// <summary>Constants of the virtio-loopback UAPI.</summary>
public static class LoopbackUapi
{
    /// <summary>The device node the module creates.</summary>
    public const string DevicePath = "/dev/virtio-loopback";

    /// <summary><c>VIRTIO_LOOPBACK_API_VERSION</c>: the newest API these bindings describe.</summary>
    public const uint ApiVersion = 2;

    /// <summary>The API version every control fd speaks until SET_API_VERSION selects another.</summary>
    public const uint BaseApiVersion = 1;

    /// <summary><c>VIRTIO_LOOPBACK_CONFIG_MAX</c>: the largest config space.</summary>
    public const int ConfigMax = 256;

    /// <summary><c>VIRTIO_LOOPBACK_CONFIG_WRITE_MAX</c>: the largest config write one event carries.</summary>
    public const int ConfigWriteMax = 64;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_MAGIC</c>.</summary>
    public const uint IocMagic = 0xBE;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_GET_API_VERSION</c> = <c>_IOR(0xBE, 0, struct virtio_loopback_api_info)</c>.</summary>
    public const uint IocGetApiVersion = 0x8040be00;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_CREATE_DEVICE</c> = <c>_IOWR(0xBE, 1, struct virtio_loopback_create)</c>.</summary>
    public const uint IocCreateDevice = 0xc060be01;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE</c> = <c>_IOW(0xBE, 2, struct virtio_loopback_handle)</c>.</summary>
    public const uint IocDestroyDevice = 0x4010be02;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS</c> = <c>_IOW(0xBE, 3, struct virtio_loopback_queue_fds)</c>.</summary>
    public const uint IocSetQueueFds = 0x4020be03;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO</c> = <c>_IOWR(0xBE, 4, struct virtio_loopback_queue_info)</c>.</summary>
    public const uint IocGetQueueInfo = 0xc040be04;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_SET_CONFIG</c> = <c>_IOW(0xBE, 5, struct virtio_loopback_config)</c>.</summary>
    public const uint IocSetConfig = 0x4020be05;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_EVENT_DONE</c> = <c>_IOW(0xBE, 6, struct virtio_loopback_event_done)</c>.</summary>
    public const uint IocEventDone = 0x4018be06;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_FAIL_DEVICE</c> = <c>_IOW(0xBE, 7, struct virtio_loopback_fail)</c>.</summary>
    public const uint IocFailDevice = 0x4010be07;

    /// <summary><c>VIRTIO_LOOPBACK_IOC_SET_API_VERSION</c> = <c>_IOW(0xBE, 8, struct virtio_loopback_api_select)</c> (API version 2).</summary>
    public const uint IocSetApiVersion = 0x4010be08;

    /// <summary><c>VIRTIO_LOOPBACK_QUEUE_READY</c>: the queue's rings exist.</summary>
    public const uint QueueReady = 1u << 0;

    /// <summary><c>VIRTIO_LOOPBACK_QUEUE_PACKED</c>: the queue uses the packed layout.</summary>
    public const uint QueuePacked = 1u << 1;

    /// <summary><c>VIRTIO_LOOPBACK_CONFIG_F_NOTIFY</c>: signal a config change to the driver.</summary>
    public const uint ConfigNotify = 1u << 0;
}

/// <summary><c>struct virtio_loopback_api_info</c> (64 bytes): what the module supports.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct LoopbackApiInfo
{
    /// <summary>The API version this control fd speaks (1 until SET_API_VERSION).</summary>
    [FieldOffset(0)] public uint ApiVersion;

    /// <summary>The largest queue count per device.</summary>
    [FieldOffset(4)] public uint MaxQueues;

    /// <summary>The largest queue size (a power of two).</summary>
    [FieldOffset(8)] public uint MaxQueueSize;

    /// <summary>The largest config space in bytes.</summary>
    [FieldOffset(12)] public uint MaxConfigSize;

    /// <summary>The size of one event record.</summary>
    [FieldOffset(16)] public uint EventSize;

    /// <summary>The most devices one control fd may own.</summary>
    [FieldOffset(20)] public uint MaxDevices;

    /// <summary>The largest pool in bytes.</summary>
    [FieldOffset(24)] public ulong MaxPoolSize;

    /// <summary>The smallest pool in bytes.</summary>
    [FieldOffset(32)] public ulong MinPoolSize;

    /// <summary>What the module does (0 from modules before API version 2).</summary>
    [FieldOffset(40)] public LoopbackCapabilities Capabilities;

    /// <summary>The newest API version the module speaks (0 from modules before version 2).</summary>
    [FieldOffset(48)] public uint MaxApiVersion;
}

/// <summary><c>virtio_loopback_api_info.capabilities</c>.</summary>
[Flags]
public enum LoopbackCapabilities : ulong
{
    /// <summary>None (a module before API version 2).</summary>
    None = 0,

    /// <summary><c>VIRTIO_LOOPBACK_CAP_FAIL_DEVICE</c>: FAIL_DEVICE exists.</summary>
    FailDevice = 1UL << 0,

    /// <summary><c>VIRTIO_LOOPBACK_CAP_PRIVATE_RINGS</c>: the driver's rings stay private; the back end serves shadow rings.</summary>
    PrivateRings = 1UL << 1,

    /// <summary><c>VIRTIO_LOOPBACK_CAP_DEVICE_FILTER</c>: device-type allow-list and feature filter.</summary>
    DeviceFilter = 1UL << 2,

    /// <summary><c>VIRTIO_LOOPBACK_CAP_BROKEN_EVENT</c>: a version-2 control fd gets BROKEN events.</summary>
    BrokenEvent = 1UL << 3,
}

/// <summary><c>struct virtio_loopback_api_select</c> (16 bytes): the SET_API_VERSION argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct LoopbackApiSelect
{
    /// <summary>The version the caller speaks.</summary>
    [FieldOffset(0)] public uint ApiVersion;
}

/// <summary><c>struct virtio_loopback_create</c> (96 bytes): the CREATE_DEVICE argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 96)]
public struct LoopbackCreate
{
    /// <summary>In: the virtio device ID.</summary>
    [FieldOffset(0)] public uint DeviceId;

    /// <summary>In: the virtio vendor ID.</summary>
    [FieldOffset(4)] public uint VendorId;

    /// <summary>In: the device's feature bits (without <c>VHOST_USER_F_PROTOCOL_FEATURES</c>).</summary>
    [FieldOffset(8)] public ulong DeviceFeatures;

    /// <summary>In: the number of virtqueues.</summary>
    [FieldOffset(16)] public uint NumQueues;

    /// <summary>In: the largest ring size (a power of two).</summary>
    [FieldOffset(20)] public uint MaxQueueSize;

    /// <summary>In: the pool size in bytes (a page multiple).</summary>
    [FieldOffset(24)] public ulong PoolSize;

    /// <summary>In: the number of config space bytes at <see cref="ConfigAddr"/>.</summary>
    [FieldOffset(32)] public uint ConfigSize;

    /// <summary>In: zero.</summary>
    [FieldOffset(36)] public uint Flags;

    /// <summary>In: the user address of the initial config space.</summary>
    [FieldOffset(40)] public ulong ConfigAddr;

    /// <summary>Out: the device's handle on this control fd.</summary>
    [FieldOffset(64)] public uint Handle;

    /// <summary>Out: a new close-on-exec fd of the pool.</summary>
    [FieldOffset(68)] public int PoolFd;

    /// <summary>Out: the DMA address of pool byte 0.</summary>
    [FieldOffset(72)] public ulong PoolDmaBase;

    /// <summary>Out (API version 2): the features the driver is offered after the module's filter.</summary>
    [FieldOffset(80)] public ulong OfferedFeatures;
}

/// <summary><c>struct virtio_loopback_handle</c> (16 bytes): names one device.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct LoopbackHandle
{
    /// <summary>The device's handle.</summary>
    [FieldOffset(0)] public uint Handle;

    /// <summary>Zero.</summary>
    [FieldOffset(4)] public uint Flags;
}

/// <summary><c>struct virtio_loopback_queue_fds</c> (32 bytes): the SET_QUEUE_FDS argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct LoopbackQueueFds
{
    /// <summary>The device.</summary>
    [FieldOffset(0)] public uint Handle;

    /// <summary>The queue index.</summary>
    [FieldOffset(4)] public uint Queue;

    /// <summary>The kick eventfd, or -1 to detach.</summary>
    [FieldOffset(8)] public int KickFd;

    /// <summary>The call eventfd, or -1 to detach.</summary>
    [FieldOffset(12)] public int CallFd;

    /// <summary>Zero.</summary>
    [FieldOffset(16)] public uint Flags;
}

/// <summary><c>struct virtio_loopback_queue_info</c> (64 bytes): the GET_QUEUE_INFO argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct LoopbackQueueInfo
{
    /// <summary>In: the device.</summary>
    [FieldOffset(0)] public uint Handle;

    /// <summary>In: the queue index.</summary>
    [FieldOffset(4)] public uint Queue;

    /// <summary>Out: the ring size the driver chose (0 when not ready).</summary>
    [FieldOffset(16)] public uint Size;

    /// <summary>Out: <see cref="LoopbackUapi.QueueReady"/> and <see cref="LoopbackUapi.QueuePacked"/> flags.</summary>
    [FieldOffset(20)] public uint Ready;

    /// <summary>Out: the DMA address of the descriptor table.</summary>
    [FieldOffset(24)] public ulong DescAddr;

    /// <summary>Out: the DMA address of the available ring.</summary>
    [FieldOffset(32)] public ulong AvailAddr;

    /// <summary>Out: the DMA address of the used ring.</summary>
    [FieldOffset(40)] public ulong UsedAddr;

    /// <summary>Whether the queue's rings exist.</summary>
    public readonly bool IsReady => (Ready & LoopbackUapi.QueueReady) != 0;
}

/// <summary><c>struct virtio_loopback_config</c> (32 bytes): the SET_CONFIG argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct LoopbackConfig
{
    /// <summary>The device.</summary>
    [FieldOffset(0)] public uint Handle;

    /// <summary>The first config byte to replace.</summary>
    [FieldOffset(4)] public uint Offset;

    /// <summary>The number of bytes.</summary>
    [FieldOffset(8)] public uint Size;

    /// <summary><see cref="LoopbackUapi.ConfigNotify"/> or zero.</summary>
    [FieldOffset(12)] public uint Flags;

    /// <summary>The user address of the bytes.</summary>
    [FieldOffset(16)] public ulong ConfigAddr;
}

/// <summary><c>struct virtio_loopback_event_done</c> (24 bytes): the EVENT_DONE argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct LoopbackEventDone
{
    /// <summary>The device named by the event.</summary>
    [FieldOffset(0)] public uint Handle;

    /// <summary>0, or a positive errno value when the back end failed.</summary>
    [FieldOffset(4)] public uint Status;

    /// <summary>The event's sequence number.</summary>
    [FieldOffset(8)] public ulong Seq;
}

/// <summary><c>struct virtio_loopback_fail</c> (16 bytes): the FAIL_DEVICE argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct LoopbackFail
{
    /// <summary>The device.</summary>
    [FieldOffset(0)] public uint Handle;

    /// <summary>Why, as a positive errno value (logged by the module).</summary>
    [FieldOffset(4)] public uint Status;
}

/// <summary><c>virtio_loopback_event.type</c>.</summary>
public enum LoopbackEventType : uint
{
    /// <summary>Not an event (zeroed record).</summary>
    None = 0,

    /// <summary>The driver accepted features.</summary>
    FeaturesOk = 1,

    /// <summary>The queues are live.</summary>
    DriverOk = 2,

    /// <summary>The driver reset the device (needs a reply).</summary>
    Reset = 3,

    /// <summary>The driver wrote config bytes (needs a reply when flagged).</summary>
    ConfigWrite = 4,

    /// <summary>The back end broke a rule; the device failed for good (API version 2).</summary>
    Broken = 5,
}

/// <summary><c>virtio_loopback_event.u.broken.rule</c>: what the back end did.</summary>
public enum LoopbackRule : uint
{
    /// <summary>Unknown.</summary>
    None = 0,

    /// <summary>It returned a head that was not outstanding.</summary>
    UsedId = 1,

    /// <summary>It reported more bytes than the chain's device-writable part holds.</summary>
    UsedLength = 2,

    /// <summary>It moved the used index past what was outstanding.</summary>
    UsedIndex = 3,
}

/// <summary><c>struct virtio_loopback_event</c> (128 bytes): one record read from the control fd.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct LoopbackEvent
{
    /// <summary>The record size.</summary>
    public const int Size = 128;

    /// <summary><c>VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY</c>.</summary>
    public const uint FlagNeedReply = 1u << 0;

    /// <summary>The event type.</summary>
    [FieldOffset(0)] public LoopbackEventType Type;

    /// <summary>The device.</summary>
    [FieldOffset(4)] public uint Handle;

    /// <summary>The per-control-fd sequence number.</summary>
    [FieldOffset(8)] public ulong Seq;

    /// <summary>Event flags (<see cref="FlagNeedReply"/>).</summary>
    [FieldOffset(16)] public uint Flags;

    /// <summary>FEATURES_OK: the negotiated features.</summary>
    [FieldOffset(24)] public ulong Features;

    /// <summary>DRIVER_OK: the device's queue count.</summary>
    [FieldOffset(24)] public uint NumQueues;

    /// <summary>CONFIG_WRITE: the offset written.</summary>
    [FieldOffset(24)] public uint ConfigOffset;

    /// <summary>CONFIG_WRITE: the number of bytes written.</summary>
    [FieldOffset(28)] public uint ConfigSize;

    /// <summary>CONFIG_WRITE: the bytes written (the first <see cref="ConfigSize"/> count).</summary>
    [FieldOffset(32)] public fixed byte ConfigData[LoopbackUapi.ConfigWriteMax];

    /// <summary>BROKEN: the queue on which the back end broke the rule.</summary>
    [FieldOffset(24)] public uint BrokenQueue;

    /// <summary>BROKEN: the rule the back end broke.</summary>
    [FieldOffset(28)] public LoopbackRule BrokenRule;

    /// <summary>Whether the module waits for EVENT_DONE.</summary>
    public readonly bool NeedsReply => (Flags & FlagNeedReply) != 0;
}
