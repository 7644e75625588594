// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>Inflight I/O tracking: <c>GET_INFLIGHT_FD</c> and <c>SET_INFLIGHT_FD</c>.</summary>
public sealed partial class BackendHandler
{
    /// <summary>
    /// <c>GET_INFLIGHT_FD</c>: creates a zeroed, initialised region for the queues the front end
    /// describes and hands it over; the back end maps it when <c>SET_INFLIGHT_FD</c> gives it back.
    /// </summary>
    private string? GetInflightFd(InflightDescription request)
    {
        if (request.NumQueues > _vrings.Length)
        {
            return $"{request.NumQueues} queues asked for, the device has {_vrings.Length}";
        }

        if (request.QueueSize > _device.MaxQueueSize)
        {
            return $"queue size {request.QueueSize} is above the device's maximum {_device.MaxQueueSize}";
        }

        using FileDescriptor fd = InflightRegion.CreateFile(request.NumQueues, request.QueueSize, out ulong size);
        Span<byte> body = stackalloc byte[InflightDescription.Size];
        new InflightDescription(size, 0, request.NumQueues, request.QueueSize).Write(body);
        _channel!.Send(VhostUserHeader.ForReply((uint)FrontendRequest.GetInflightFd, body.Length), body, new ReadOnlySpan<FileDescriptor>(in fd));
        Log.InflightCreated(_logger, request.NumQueues, request.QueueSize, size);
        return null;
    }

    /// <summary>
    /// <c>SET_INFLIGHT_FD</c>: maps the region and gives each vring its area; tracking and
    /// resubmission start when each ring starts.
    /// </summary>
    private string? SetInflightFd(InflightDescription description)
    {
        InflightRegion? region = InflightRegion.TryMap(_fds[0], description.MmapSize, description.MmapOffset, description.NumQueues, description.QueueSize, out string? error);
        if (region is null)
        {
            return error;
        }

        DisposeInflight();
        _inflight = region;
        for (int i = 0; i < _vrings.Length; i++)
        {
            _vrings[i].SetInflight(region.GetQueue(i));
        }

        Log.InflightMapped(_logger, description.NumQueues, description.QueueSize, description.MmapSize);
        return null;
    }

    /// <summary>Detaches the inflight region from every vring (on its worker), then unmaps it.</summary>
    private void DisposeInflight()
    {
        if (_inflight is null)
        {
            return;
        }

        foreach (Vring vring in _vrings)
        {
            vring.SetInflight(null);
        }

        _inflight.Dispose();
        _inflight = null;
    }
}
