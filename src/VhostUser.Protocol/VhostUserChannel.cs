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
/// <remarks>
/// <para>One receiving thread and one sending thread at a time; the channel owns the socket.</para>
/// <para>
/// No peer can hold the channel's threads: once a message has begun, its rest must arrive within
/// <see cref="MessageTimeout"/> (a front end that sends half a header and stalls is dropped), a
/// send waits at most as long for the peer to make room, and every wait ends at once when
/// <see cref="Cancel"/> becomes readable (the back end's shutdown eventfd). Waits happen in
/// <c>poll</c>, never in a blocking <c>recvmsg</c> or <c>sendmsg</c>.
/// </para>
/// </remarks>
public sealed class VhostUserChannel : IDisposable
{
    /// <summary>
    /// The default <see cref="MessageTimeout"/>. Both QEMU and this project write a message with one
    /// <c>sendmsg</c>, so its bytes arrive together; seconds of silence inside one are a stalled peer.
    /// </summary>
    public static readonly TimeSpan DefaultMessageTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Takes ownership of a connected <paramref name="socket"/>.</summary>
    public VhostUserChannel(UnixSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Socket = socket;
    }

    /// <summary>The underlying socket (for epoll registration and <see cref="UnixSocket.Shutdown"/>).</summary>
    public UnixSocket Socket { get; }

    /// <summary>
    /// How long the rest of a begun message may take to arrive, and how long a send may wait for the
    /// peer to take our bytes.
    /// </summary>
    public TimeSpan MessageTimeout { get; set; } = DefaultMessageTimeout;

    /// <summary>
    /// An fd (an eventfd) whose readability ends every wait of the channel: a receive then reports
    /// <see cref="ReceiveStatus.Closed"/>, a send throws <see cref="VhostUserDisconnectedException"/>.
    /// The caller keeps ownership.
    /// </summary>
    public FileDescriptor? Cancel { get; set; }

    /// <summary>
    /// Receives one message: checks the version bits and that the payload fits both
    /// <paramref name="payload"/> and <see cref="MessageRules.MaxPayloadSize"/>. The payload is
    /// <c>payload[..(int)header.PayloadSize]</c>; received fds are appended to <paramref name="fds"/>
    /// and owned by the caller. On a blocking socket it waits for the first byte; a message that has
    /// begun must arrive whole within <see cref="MessageTimeout"/>.
    /// </summary>
    public ReceiveResult TryReceive(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds) =>
        TryReceive(out header, payload, fds, Deadline.After(MessageTimeout));

    /// <summary>
    /// <see cref="TryReceive(out VhostUserHeader, Span{byte}, List{FileDescriptor})"/> with the rest of
    /// the message due by <paramref name="deadline"/> (a front end's reply timeout covers the whole reply).
    /// </summary>
    public ReceiveResult TryReceive(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds, Deadline deadline)
    {
        ArgumentNullException.ThrowIfNull(fds);
        header = default;
        int firstFd = fds.Count;
        Span<byte> raw = stackalloc byte[VhostUserHeader.Size];
        try
        {
            // The first byte is waited for as the socket's mode says (a non-blocking socket polled
            // by the caller, or a blocking one in a thread of its own); only the rest is bounded.
            int got = Socket.Receive(raw, fds);
            if (got < 0)
            {
                return ReceiveResult.WouldBlock;
            }

            if (got == 0)
            {
                return ReceiveResult.Closed;
            }

            Rest rest = got < raw.Length ? ReadRest(raw[got..], fds, deadline) : Rest.Done;
            if (rest != Rest.Done)
            {
                return Abandon(fds, firstFd, rest);
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

            if (header.PayloadSize != 0)
            {
                rest = ReadRest(payload[..(int)header.PayloadSize], fds, deadline);
                if (rest != Rest.Done)
                {
                    return Abandon(fds, firstFd, rest);
                }
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
    /// <see cref="TryReceive(out VhostUserHeader, Span{byte}, List{FileDescriptor})"/>, then the validation gate for a request from the front end
    /// (<see cref="MessageRules.ValidateFrontendRequest"/>). A message that fails the gate is
    /// reported as <see cref="ReceiveStatus.Malformed"/> with its fds closed but its header filled in
    /// (so the caller can still send a negative acknowledgement).
    /// </summary>
    public ReceiveResult TryReceiveFrontendRequest(out VhostUserHeader header, Span<byte> payload, List<FileDescriptor> fds) =>
        TryReceiveValidated(out header, payload, fds, fromFrontend: true);

    /// <summary>
    /// <see cref="TryReceive(out VhostUserHeader, Span{byte}, List{FileDescriptor})"/>, then the validation gate for a request from the back end
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
            Socket.Send(raw, payload, fds, Deadline.After(MessageTimeout), Cancel);
        }
        catch (SysException e) when (e.Errno == LibC.EPIPE || e.Errno == LibC.ECONNRESET)
        {
            throw new VhostUserDisconnectedException("The vhost-user peer disconnected while a message was sent.", e);
        }
        catch (SysException e) when (e.Errno == Errno.TimedOut)
        {
            throw new VhostUserDisconnectedException($"The vhost-user peer took nothing for {MessageTimeout.TotalSeconds} s while a message was sent.", e);
        }
        catch (SysException e) when (e.Errno == Errno.Canceled)
        {
            throw new VhostUserDisconnectedException("The connection is being shut down.", e);
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

    /// <summary>
    /// A message whose rest did not come: its fds are closed; the stream ended (short read), stalled,
    /// or <see cref="Cancel"/> fired (reported as the end of the stream).
    /// </summary>
    private static ReceiveResult Abandon(List<FileDescriptor> fds, int firstFd, Rest rest)
    {
        ReceiveResult rejected = Reject(fds, firstFd, rest == Rest.Stalled ? MessageError.Stalled : MessageError.ShortRead);
        return rest == Rest.Cancelled ? ReceiveResult.Closed : rejected;
    }

    // Reads exactly destination.Length bytes with recvmsg so fds attached to any part of the
    // message are collected, not dropped.
    private Rest ReadRest(Span<byte> destination, List<FileDescriptor> fds, Deadline deadline)
    {
        while (!destination.IsEmpty)
        {
            int n = Socket.Receive(destination, fds, dontWait: true);
            if (n == 0)
            {
                return Rest.Ended;
            }

            if (n > 0)
            {
                destination = destination[n..];
                continue;
            }

            switch (Socket.WaitReadable(deadline, Cancel))
            {
                case WaitResult.TimedOut:
                    return Rest.Stalled;
                case WaitResult.Cancelled:
                    return Rest.Cancelled;
            }
        }

        return Rest.Done;
    }

    /// <summary>How reading the rest of a message ended.</summary>
    private enum Rest
    {
        Done,
        Ended,
        Stalled,
        Cancelled,
    }
}
