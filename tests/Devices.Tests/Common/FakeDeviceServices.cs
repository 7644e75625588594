// SPDX-License-Identifier: MIT
using System.Collections.Generic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Sys;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Tests.Common;

/// <summary>A scheduler that records wakes and ignores watches: tests call the logic themselves.</summary>
internal sealed class FakeScheduler : IQueueScheduler
{
    public List<int> Wakes { get; } = new();

    public void Wake(int queueIndex) => Wakes.Add(queueIndex);

    public void Watch(ulong token, FileDescriptor fd, int queueIndex, EpollEvents events)
    {
    }

    public void Unwatch(ulong token)
    {
    }
}

/// <summary>The back end's services with logging off.</summary>
internal sealed class FakeHost : IDeviceHost
{
    public static readonly FakeHost Instance = new();

    public ILoggerFactory LoggerFactory => NullLoggerFactory.Instance;

    public bool NotifyConfigChanged() => true;
}
