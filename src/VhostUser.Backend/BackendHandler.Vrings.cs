// SPDX-License-Identifier: MIT
using System;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>The per-ring requests. The gate has checked every index against the device's queue count.</summary>
public sealed partial class BackendHandler
{
    private string? SetVringNum(VringState state) => _vrings[state.Index].SetNum((ushort)state.Num);

    /// <summary>
    /// <c>SET_VRING_ADDR</c>: addresses are the front end's virtual addresses, translated through the
    /// current memory table (an address outside it is refused). The log address and
    /// <c>VHOST_VRING_F_LOG</c> are ignored: dirty logging (<c>LOG_SHMFD</c>) is never offered.
    /// </summary>
    private string? SetVringAddr(VringAddress address) =>
        _vrings[address.Index].SetAddress(address.DescUserAddr, address.AvailUserAddr, address.UsedUserAddr, _memoryTable.Current);

    private string? SetVringBase(VringState state) => _vrings[state.Index].SetBase((ushort)state.Num);

    /// <summary>
    /// <c>GET_VRING_BASE</c>: stops the ring (QEMU 7.2+ disables it first; either order works) and
    /// replies with the index of the next avail entry to process.
    /// </summary>
    private string? GetVringBase(VringState state)
    {
        ushort next = _vrings[state.Index].GetBase();
        Span<byte> body = stackalloc byte[VringState.Size];
        new VringState(state.Index, next).Write(body);
        _channel!.SendReply(FrontendRequest.GetVringBase, body);
        return null;
    }

    private string? SetVringKick(VringIndexWithFd value) => _vrings[value.Index].SetKick(AdoptEventFd(value));

    private string? SetVringCall(VringIndexWithFd value)
    {
        _vrings[value.Index].SetCall(AdoptEventFd(value));
        return null;
    }

    private string? SetVringErr(VringIndexWithFd value)
    {
        _vrings[value.Index].SetErr(AdoptEventFd(value));
        return null;
    }

    private string? SetVringEnable(VringState state)
    {
        _vrings[state.Index].SetEnabled(state.Num != 0);
        return null;
    }

    /// <summary>The message's eventfd, or null when the NOFD bit says there is none (the gate matched the count).</summary>
    private EventFd? AdoptEventFd(VringIndexWithFd value)
    {
        if (value.NoFd)
        {
            return null;
        }

        FileDescriptor fd = TakeFd(0);
        if (!EventFd.IsEventFd(fd))
        {
            fd.Dispose();
            throw new VhostUserException("the fd sent for the vring is not an eventfd");
        }

        return EventFd.Adopt(fd);
    }
}
