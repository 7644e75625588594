// SPDX-License-Identifier: MIT
namespace VirtioLoopback.VhostUser.Backend;

/// <summary>Where a <see cref="BackendServer"/> meets its front end, and how it spreads the queues over threads.</summary>
public sealed class BackendOptions
{
    /// <summary>
    /// The unix socket path the back end listens on (<c>--socket-path</c>). The socket is created at
    /// start, kept across front-end disconnects and unlinked at shutdown. Null when <see cref="Fd"/> is used.
    /// </summary>
    public string? SocketPath { get; init; }

    /// <summary>
    /// An already connected socket inherited from the parent (<c>--fd</c>); served once. -1 when unset.
    /// </summary>
    public int Fd { get; init; } = -1;

    /// <summary>
    /// The most threads serving the queues (<c>--queue-threads</c>): queue <c>i</c> runs on thread
    /// <c>i mod n</c>. Null for one thread per queue up to the number of CPUs.
    /// </summary>
    public int? QueueThreads { get; init; }

    /// <summary>
    /// How long a queue thread polls its events after activity before it sleeps, in microseconds
    /// (<c>--poll-us</c>); 0 sleeps at once. A kick that comes within the window costs no wake-up,
    /// paid for with the CPU time of the poll.
    /// </summary>
    public int PollMicroseconds { get; init; }
}
