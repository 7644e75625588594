// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>
/// Message framing over a <see cref="UnixSocket"/>: a 12-byte header, a payload of up to
/// <see cref="MessageRules.MaxPayloadSize"/> bytes, and up to <see cref="UnixSocket.MaxFds"/> fds.
/// Receiving never throws for anything the peer sends: garbage yields
/// <see cref="ReceiveStatus.Malformed"/> with the fds already closed. The caller provides the payload
/// buffer and fd list, so a receive allocates nothing but the fd handles themselves.
/// </summary>
/// <remarks>One receiving thread and one sending thread at a time; the channel owns the socket.</remarks>
public sealed class VhostUserChannel : IDisposable
{
    /// <summary>Takes ownership of a connected <paramref name="socket"/>.</summary>
    public VhostUserChannel(UnixSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Socket = socket;
    }

    /// <summary>The underlying socket (for epoll registration and <see cref="UnixSocket.Shutdown"/>).</summary>
    public UnixSocket Socket { get; }

    /// <summary>
    /// Receives one message: checks the version bits and that the payload fits both
    /// <paramref name="payload"/> and <see cref="MessageRules.MaxPayloadSize"/>. The payload is
    /// <c>payload[..(int)header.PayloadSize]</c>; received fds are appended to <paramref name="fds"/>
    /// and owned by the caller. On a non-blocking socket, a message that has begun is read to its end.
    /// </summary>
    public ReceiveResult TryReceive(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds)
    {
        ArgumentNullException.ThrowIfNull(fds);
        header = default;
        int firstFd = fds.Count;
        Span<byte> raw = stackalloc byte[VhostUserHeader.Size];
        try
        {
            int got = Socket.Receive(raw, fds);
            if (got < 0)
            {
                return ReceiveResult.WouldBlock;
            }

            if (got == 0)
            {
                return ReceiveResult.Closed;
            }

            if (got < raw.Length && !ReadRest(raw[got..], fds))
            {
                return Reject(fds, firstFd, MessageError.ShortRead);
            }

            header = VhostUserHeader.Read(raw);
            if (!header.HasValidVersion)
            {
                return Reject(fds, firstFd, MessageError.BadVersion);
            }

            if (header.PayloadSize > MessageRules.MaxPayloadSize || header.PayloadSize > (uint)payload.Length)
            {
                return Reject(fds, firstFd, MessageError.PayloadTooLarge);
            }

            if (header.PayloadSize != 0 && !ReadRest(payload[..(int)header.PayloadSize], fds))
            {
                return Reject(fds, firstFd, MessageError.ShortRead);
            }

            if (fds.Count - firstFd > UnixSocket.MaxFds)
            {
                return Reject(fds, firstFd, MessageError.TooManyFds);
            }

            return ReceiveResult.Message;
        }
        catch (TooManyFdsException)
        {
            // The socket already closed what arrived with the truncated control message.
            return Reject(fds, firstFd, MessageError.TooManyFds);
        }
    }

    /// <summary>
    /// <see cref="TryReceive"/>, then the validation gate for a request from the front end
    /// (<see cref="MessageRules.ValidateFrontendRequest"/>). A message that fails the gate is
    /// reported as <see cref="ReceiveStatus.Malformed"/> with its fds closed but its header filled in
    /// (so the caller can still send a negative acknowledgement).
    /// </summary>
    public ReceiveResult TryReceiveFrontendRequest(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds) =>
        TryReceiveValidated(out header, payload, fds, fromFrontend: true);

    /// <summary>
    /// <see cref="TryReceive"/>, then the validation gate for a request from the back end
    /// (<see cref="MessageRules.ValidateBackendRequest"/>); see <see cref="TryReceiveFrontendRequest"/>.
    /// </summary>
    public ReceiveResult TryReceiveBackendRequest(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds) =>
        TryReceiveValidated(out header, payload, fds, fromFrontend: false);

    private ReceiveResult TryReceiveValidated(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds, bool fromFrontend)
    {
        ArgumentNullException.ThrowIfNull(fds);
        int firstFd = fds.Count;
        ReceiveResult result = TryReceive(out header, payload, fds);
        if (result.Status != ReceiveStatus.Message)
        {
            return result;
        }

        ReadOnlySpan<byte> body = payload[..(int)header.PayloadSize];
        int fdCount = fds.Count - firstFd;
        MessageError error = fromFrontend
            ? MessageRules.ValidateFrontendRequest(header, body, fdCount)
            : MessageRules.ValidateBackendRequest(header, body, fdCount);
        return error == MessageError.None ? result : Reject(fds, firstFd, error);
    }

    /// <summary>Sends <paramref name="header"/>, <paramref name="payload"/> and <paramref name="fds"/> in one write.</summary>
    /// <exception cref="ArgumentException">The header's size does not match the payload.</exception>
    /// <exception cref="VhostUserDisconnectedException">The peer has gone.</exception>
    public void Send(in VhostUserHeader header, ReadOnlySpan<byte> payload, ReadOnlySpan<FileDescriptor> fds)
    {
        if (header.PayloadSize != (uint)payload.Length)
        {
            throw new ArgumentException("The header's size must equal the payload length.", nameof(payload));
        }

        Span<byte> raw = stackalloc byte[VhostUserHeader.Size];
        header.Write(raw);
        try
        {
            Socket.Send(raw, payload, fds);
        }
        catch (SysException e) when (e.Errno == LibC.EPIPE || e.Errno == LibC.ECONNRESET)
        {
            throw new VhostUserDisconnectedException("The vhost-user peer disconnected while a message was sent.", e);
        }
    }

    /// <summary>Sends a version-1 request (with <c>NEED_REPLY</c> if <paramref name="needReply"/>).</summary>
    public void SendRequest(uint request, ReadOnlySpan<byte> payload, ReadOnlySpan<FileDescriptor> fds, bool needReply) =>
        Send(VhostUserHeader.ForRequest(request, payload.Length, needReply), payload, fds);

    /// <summary>Sends a reply to <paramref name="request"/> (version 1, reply flag set).</summary>
    public void SendReply(uint request, ReadOnlySpan<byte> payload, ReadOnlySpan<FileDescriptor> fds = default) =>
        Send(VhostUserHeader.ForReply(request, payload.Length), payload, fds);

    /// <summary>Sends a reply to front-end request <paramref name="request"/>.</summary>
    public void SendReply(FrontendRequest request, ReadOnlySpan<byte> payload) => SendReply((uint)request, payload);

    /// <summary>
    /// Sends a u64 reply: the body of <c>GET_FEATURES</c>-style replies, or the <c>REPLY_ACK</c>
    /// acknowledgement (0 success, non-zero failure).
    /// </summary>
    public void SendU64Reply(uint request, ulong value)
    {
        Span<byte> body = stackalloc byte[U64Payload.Size];
        new U64Payload(value).Write(body);
        SendReply(request, body);
    }

    /// <summary>Closes the socket (without shutting the connection down for other holders).</summary>
    public void Dispose() => Socket.Dispose();

    private static ReceiveResult Reject(List<FileDescriptor> fds, int firstFd, MessageError error)
    {
        for (int i = firstFd; i < fds.Count; i++)
        {
            fds[i].Dispose();
        }

        fds.RemoveRange(firstFd, fds.Count - firstFd);
        return ReceiveResult.Malformed(error);
    }

    // Reads exactly destination.Length bytes with recvmsg so fds attached to any part of the
    // message are collected, not dropped; returns false if the stream ends first.
    private bool ReadRest(Span<byte> destination, List<FileDescriptor> fds)
    {
        while (!destination.IsEmpty)
        {
            int n = Socket.Receive(destination, fds);
            if (n == 0)
            {
                return false;
            }

            if (n < 0)
            {
                Socket.WaitReadable(-1);
                continue;
            }

            destination = destination[n..];
        }

        return true;
    }
}
