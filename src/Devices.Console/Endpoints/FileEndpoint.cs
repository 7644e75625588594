// SPDX-License-Identifier: MIT
using Tmds.Linux;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Console.Endpoints;

/// <summary>
/// A file the driver's output is appended to (created 0644 if missing). Always connected; the guest
/// reads nothing from it. Writes to a regular file never wait.
/// </summary>
internal sealed class FileEndpoint : PortEndpoint
{
    private readonly FileDescriptor _fd;

    private FileEndpoint(FileDescriptor fd)
    {
        _fd = fd;
    }

    /// <inheritdoc />
    public override bool IsConnected => true;

    /// <inheritdoc />
    public override FileDescriptor? DataFd => _fd;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanWatchWrite => false;

    /// <summary>Opens <paramref name="path"/> for appending.</summary>
    /// <exception cref="SysException">The file cannot be opened.</exception>
    public static FileEndpoint Open(string path)
    {
        return new FileEndpoint(FileIo.Open(path, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_APPEND, 0x1a4));
    }

    /// <inheritdoc />
    public override void Hangup()
    {
        // A file has no peer to send away.
    }

    /// <inheritdoc />
    public override void Dispose() => _fd.Dispose();
}
