// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Protocol;

/// <summary>What a well-formed request looks like: payload size range, fds, and whether it always gets a reply.</summary>
/// <param name="MinSize">Smallest payload size in bytes.</param>
/// <param name="MaxSize">Largest payload size in bytes.</param>
/// <param name="Fds">The fd rule.</param>
/// <param name="HasReply">
/// Whether the request always gets a reply body (the <c>GET_*</c> family). Requests without one are
/// acknowledged with a u64 only when <c>REPLY_ACK</c> is negotiated and <c>NEED_REPLY</c> is set.
/// Replies that depend on a feature (<c>SET_LOG_BASE</c> under <c>LOG_SHMFD</c>, memory messages in
/// postcopy) are not marked.
/// </param>
public readonly record struct MessageRule(int MinSize, int MaxSize, FdRule Fds, bool HasReply)
{
    /// <summary>A rule for an exact payload size.</summary>
    public static MessageRule Exact(int size, FdRule fds = FdRule.None, bool hasReply = false) => new(size, size, fds, hasReply);

    /// <summary>Whether <paramref name="size"/> is within the rule's range.</summary>
    public bool AllowsSize(int size) => size >= MinSize && size <= MaxSize;
}
