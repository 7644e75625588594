// SPDX-License-Identifier: MIT
using System;
using System.IO;
using VirtioLoopback.VhostUser.Backend;
using VirtioLoopback.VhostUser.Protocol;

namespace VirtioLoopback.Tools.FaultyBlk;

/// <summary>
/// A device that is <paramref name="inner"/> in every way until <paramref name="breakFile"/>
/// exists; from then on a queue with requests to serve is marked broken instead.
/// </summary>
internal sealed class BreakingDevice(IVirtioDevice inner, string breakFile) : IVirtioDevice
{
    public uint DeviceId => inner.DeviceId;

    public ulong DeviceFeatures => inner.DeviceFeatures;

    public ProtocolFeatures ProtocolFeatures => inner.ProtocolFeatures;

    public int QueueCount => inner.QueueCount;

    public ushort MaxQueueSize => inner.MaxQueueSize;

    public int ConfigSize => inner.ConfigSize;

    public void Attach(IDeviceHost host) => inner.Attach(host);

    public void ReadConfig(int offset, Span<byte> destination) => inner.ReadConfig(offset, destination);

    public bool WriteConfig(int offset, ReadOnlySpan<byte> data) => inner.WriteConfig(offset, data);

    public void OnFeaturesAcked(ulong features) => inner.OnFeaturesAcked(features);

    public void Start(IVirtqueue queue) => inner.Start(queue);

    public void Process(IVirtqueue queue)
    {
        if (File.Exists(breakFile))
        {
            queue.MarkBroken($"asked to break ({breakFile} exists)");
            return;
        }

        inner.Process(queue);
    }

    public void OnEvent(IVirtqueue queue, ulong token) => inner.OnEvent(queue, token);

    public void Stop(IVirtqueue queue) => inner.Stop(queue);

    public void Reset() => inner.Reset();
}
