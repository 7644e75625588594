// SPDX-License-Identifier: MIT
using System;
using System.IO;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console.Endpoints;

/// <summary>
/// A pseudo-terminal: the back end holds the master, the peer is whoever opens the slave
/// (<c>/dev/pts/N</c>, or the symlink given). The slave starts in raw mode, so bytes pass unchanged
/// and nothing is echoed back into the guest.
/// </summary>
/// <remarks>
/// The master cannot be told when the slave is opened, so the device polls <see cref="PollPeer"/>:
/// after the slave's last close the master reports POLLHUP until it is opened again. The back end
/// opens and closes the slave once at creation, which puts the master in that state from the start
/// (a slave never opened shows no POLLHUP). The window size the peer sets (TIOCSWINSZ on the slave)
/// is read from the master the same way.
/// </remarks>
internal sealed class PtyEndpoint : PortEndpoint
{
    private readonly FileDescriptor _master;
    private readonly string? _link;
    private bool _connected;

    private PtyEndpoint(FileDescriptor master, string slavePath, string? link)
    {
        _master = master;
        SlavePath = slavePath;
        _link = link;
    }

    /// <summary>The slave's device path (<c>/dev/pts/N</c>).</summary>
    public string SlavePath { get; }

    /// <inheritdoc />
    public override bool IsConnected => _connected;

    /// <inheritdoc />
    public override FileDescriptor? DataFd => _master;

    /// <inheritdoc />
    public override bool NeedsPolling => true;

    /// <summary>Creates a pty in raw mode, and the symlink <paramref name="link"/> to its slave when given.</summary>
    /// <exception cref="SysException">The pty cannot be created.</exception>
    /// <exception cref="IOException">Something that is not a symlink is in the way of <paramref name="link"/>.</exception>
    public static PtyEndpoint Create(string? link)
    {
        (FileDescriptor master, string slave) = Terminal.OpenPtyMaster();
        try
        {
            Terminal.MakeRaw(slave);
            if (link is not null)
            {
                ReplaceLink(link, slave);
            }

            return new PtyEndpoint(master, slave, link);
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override bool PollPeer()
    {
        _connected = (Poll.Query(_master, PollEvents.None) & PollEvents.HangUp) == 0;
        return _connected;
    }

    /// <inheritdoc />
    public override bool TryGetWindowSize(out ushort cols, out ushort rows) => Terminal.TryGetWindowSize(_master, out cols, out rows);

    /// <inheritdoc />
    public override void Hangup() => _connected = false;

    /// <inheritdoc />
    public override void Dispose()
    {
        _master.Dispose();
        if (_link is not null)
        {
            try
            {
                File.Delete(_link);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: a stale link is replaced at the next start.
            }
        }
    }

    private static void ReplaceLink(string link, string target)
    {
        FileInfo info = new(link);
        if (info.LinkTarget is not null)
        {
            File.Delete(link);
        }
        else if (info.Exists || Directory.Exists(link))
        {
            throw new IOException($"{link} exists and is not a symlink");
        }

        File.CreateSymbolicLink(link, target);
    }
}
