// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using VirtioLoopback.Sys;

namespace VirtioLoopback.VhostUser.Backend;

/// <summary>
/// The inflight region given with <c>SET_INFLIGHT_FD</c>, mapped here: one
/// <see cref="InflightQueue"/> area per queue, each <see cref="InflightLayout.QueueRegionSize"/> bytes.
/// </summary>
internal sealed class InflightRegion : IDisposable
{
    private readonly MappedMemory _mapping;
    private readonly InflightQueue[] _queues;

    private InflightRegion(MappedMemory mapping, InflightQueue[] queues)
    {
        _mapping = mapping;
        _queues = queues;
    }

    /// <summary>The number of queue areas.</summary>
    public int QueueCount => _queues.Length;

    /// <summary>
    /// Creates the region <c>GET_INFLIGHT_FD</c> hands out: a zeroed memfd with room for
    /// <paramref name="queueCount"/> queues of <paramref name="queueSize"/> descriptors, each area's
    /// <c>version</c> and <c>desc_num</c> set.
    /// </summary>
    /// <param name="queueCount">Queues to track.</param>
    /// <param name="queueSize">Descriptors per queue.</param>
    /// <param name="size">The file's size, the <c>mmap_size</c> of the reply.</param>
    public static FileDescriptor CreateFile(ushort queueCount, ushort queueSize, out ulong size)
    {
        int stride = InflightLayout.QueueRegionSize(queueSize);
        size = (ulong)stride * queueCount;
        FileDescriptor fd = MemFd.Create("vhost-user-inflight", (long)size);
        try
        {
            using MappedMemory mapping = MappedMemory.Map(fd, 0, size, writable: true);

            // A fresh memfd reads as zeros; only the headers need values.
            for (int q = 0; q < queueCount; q++)
            {
                Span<byte> header = mapping.GetSpan((ulong)q * (ulong)stride, InflightLayout.DescOffset);
                BinaryPrimitives.WriteUInt16LittleEndian(header[InflightLayout.VersionOffset..], InflightLayout.Version);
                BinaryPrimitives.WriteUInt16LittleEndian(header[InflightLayout.DescNumOffset..], queueSize);
            }

            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps the region of <c>SET_INFLIGHT_FD</c>: <paramref name="mmapSize"/> bytes of
    /// <paramref name="fd"/> at <paramref name="mmapOffset"/>, holding <paramref name="queueCount"/> areas of
    /// <paramref name="queueSize"/> descriptors.
    /// </summary>
    /// <returns>Null with <paramref name="error"/> when the description does not add up.</returns>
    public static InflightRegion? TryMap(FileDescriptor fd, ulong mmapSize, ulong mmapOffset, ushort queueCount, ushort queueSize, out string? error)
    {
        int stride = InflightLayout.QueueRegionSize(queueSize);
        ulong needed = (ulong)stride * queueCount;
        ulong pageMask = (ulong)Environment.SystemPageSize - 1;
        if (queueCount == 0 || queueSize == 0)
        {
            error = $"inflight region for {queueCount} queues of {queueSize} descriptors is empty";
            return null;
        }

        if (mmapSize < needed)
        {
            error = $"inflight region of {mmapSize} bytes is smaller than {queueCount} queues of {queueSize} descriptors need ({needed})";
            return null;
        }

        if ((mmapOffset & pageMask) != 0 || mmapOffset > long.MaxValue)
        {
            error = $"inflight mmap offset 0x{mmapOffset:x} is not page-aligned";
            return null;
        }

        MappedMemory mapping = MappedMemory.Map(fd, (long)mmapOffset, mmapSize, writable: true);
        InflightQueue[] queues = new InflightQueue[queueCount];
        for (int q = 0; q < queueCount; q++)
        {
            queues[q] = new InflightQueue(mapping, (ulong)q * (ulong)stride, queueSize);
        }

        error = null;
        return new InflightRegion(mapping, queues);
    }

    /// <summary>The area of queue <paramref name="index"/>, or null when the region has none for it.</summary>
    public InflightQueue? GetQueue(int index) => (uint)index < (uint)_queues.Length ? _queues[index] : null;

    /// <summary>Unmaps the region. Callers detach every queue area from its vring first.</summary>
    public void Dispose() => _mapping.Dispose();
}
