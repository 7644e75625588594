// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Loopback;

/// <summary>
/// An open <c>/dev/virtio-loopback</c> (non-blocking, close-on-exec): the ioctls of the UAPI and
/// the event records. Closing it removes every device it created.
/// </summary>
public sealed unsafe class LoopbackControl : ILoopbackControl, IDisposable
{
    private LoopbackControl(FileDescriptor handle, LoopbackApiInfo info)
    {
        Handle = handle;
        ApiInfo = info;
    }

    /// <summary>The control fd (for epoll).</summary>
    public FileDescriptor Handle { get; }

    /// <inheritdoc/>
    public LoopbackApiInfo ApiInfo { get; }

    /// <summary>Opens the device node and checks the API version.</summary>
    /// <param name="path">The device node, normally <see cref="LoopbackUapi.DevicePath"/>.</param>
    /// <exception cref="SysException">open or GET_API_VERSION failed.</exception>
    /// <exception cref="NotSupportedException">The module speaks another API version or event size.</exception>
    public static LoopbackControl Open(string path = LoopbackUapi.DevicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileDescriptor handle = FileIo.Open(path, LibC.O_RDWR | LibC.O_NONBLOCK);
        try
        {
            LoopbackApiInfo info = default;
            IoCtl.Invoke(handle, LoopbackUapi.IocGetApiVersion, ref info);
            if (info.ApiVersion != LoopbackUapi.BaseApiVersion || info.EventSize != LoopbackEvent.Size)
            {
                throw new NotSupportedException(
                    $"{path} speaks API version {info.ApiVersion} with {info.EventSize}-byte events; this adapter needs version {LoopbackUapi.BaseApiVersion} with {LoopbackEvent.Size}-byte events.");
            }

            // Version 2 brings the BROKEN event and the offered features; a module before it
            // speaks only version 1 (and reports 0 as its newest).
            if (info.MaxApiVersion >= LoopbackUapi.ApiVersion)
            {
                var select = new LoopbackApiSelect { ApiVersion = LoopbackUapi.ApiVersion };
                IoCtl.Invoke(handle, LoopbackUapi.IocSetApiVersion, ref select);
                info.ApiVersion = LoopbackUapi.ApiVersion;
            }

            return new LoopbackControl(handle, info);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public FileDescriptor CreateDevice(ref LoopbackCreate request, ReadOnlySpan<byte> config)
    {
        fixed (byte* p = config)
        {
            request.ConfigAddr = config.IsEmpty ? 0 : (ulong)p;
            request.ConfigSize = (uint)config.Length;
            IoCtl.Invoke(Handle, LoopbackUapi.IocCreateDevice, ref request);
            request.ConfigAddr = 0;
        }

        return FileDescriptor.Adopt(request.PoolFd);
    }

    /// <inheritdoc/>
    public void DestroyDevice(uint handle)
    {
        LoopbackHandle arg = default;
        arg.Handle = handle;
        IoCtl.Invoke(Handle, LoopbackUapi.IocDestroyDevice, ref arg);
    }

    /// <inheritdoc/>
    public void SetQueueFds(uint handle, uint queue, FileDescriptor? kick, FileDescriptor? call)
    {
        bool kickAdded = false, callAdded = false;
        try
        {
            kick?.DangerousAddRef(ref kickAdded);
            call?.DangerousAddRef(ref callAdded);
            LoopbackQueueFds arg = default;
            arg.Handle = handle;
            arg.Queue = queue;
            arg.KickFd = kick is null ? -1 : kick.DangerousFd;
            arg.CallFd = call is null ? -1 : call.DangerousFd;
            IoCtl.Invoke(Handle, LoopbackUapi.IocSetQueueFds, ref arg);
        }
        finally
        {
            if (kickAdded)
            {
                kick!.DangerousRelease();
            }

            if (callAdded)
            {
                call!.DangerousRelease();
            }
        }
    }

    /// <inheritdoc/>
    public LoopbackQueueInfo GetQueueInfo(uint handle, uint queue)
    {
        LoopbackQueueInfo arg = default;
        arg.Handle = handle;
        arg.Queue = queue;
        IoCtl.Invoke(Handle, LoopbackUapi.IocGetQueueInfo, ref arg);
        return arg;
    }

    /// <inheritdoc/>
    public void SetConfig(uint handle, uint offset, ReadOnlySpan<byte> data, bool notify)
    {
        fixed (byte* p = data)
        {
            LoopbackConfig arg = default;
            arg.Handle = handle;
            arg.Offset = offset;
            arg.Size = (uint)data.Length;
            arg.Flags = notify ? LoopbackUapi.ConfigNotify : 0;
            arg.ConfigAddr = (ulong)p;
            IoCtl.Invoke(Handle, LoopbackUapi.IocSetConfig, ref arg);
        }
    }

    /// <inheritdoc/>
    public void EventDone(uint handle, ulong seq, uint status)
    {
        LoopbackEventDone arg = default;
        arg.Handle = handle;
        arg.Seq = seq;
        arg.Status = status;
        IoCtl.Invoke(Handle, LoopbackUapi.IocEventDone, ref arg);
    }

    /// <inheritdoc/>
    public void FailDevice(uint handle, uint status)
    {
        LoopbackFail arg = default;
        arg.Handle = handle;
        arg.Status = status;
        IoCtl.Invoke(Handle, LoopbackUapi.IocFailDevice, ref arg);
    }

    /// <summary>Reads pending events without blocking.</summary>
    /// <returns>How many records were stored in <paramref name="events"/> (0 when none is pending).</returns>
    public int ReadEvents(Span<LoopbackEvent> events)
    {
        if (events.IsEmpty)
        {
            throw new ArgumentException("At least one slot is needed.", nameof(events));
        }

        int n = FileIo.Read(Handle, MemoryMarshal.AsBytes(events));
        return n < 0 ? 0 : n / LoopbackEvent.Size;
    }

    /// <summary>Closes the control fd; the module removes the devices still on it.</summary>
    public void Dispose() => Handle.Dispose();
}
