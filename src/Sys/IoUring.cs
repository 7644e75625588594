// SPDX-License-Identifier: MIT
using System;
using System.Runtime.InteropServices;
using System.Threading;
using Tmds.Linux;
using VirtioLoopback.Sys.Interop;

namespace VirtioLoopback.Sys;

/// <summary>One finished io_uring operation: the submitter's tag and the result (bytes, or <c>-errno</c>).</summary>
/// <param name="UserData">The tag given when the operation was prepared.</param>
/// <param name="Result">Bytes moved, 0, or a negated errno.</param>
public readonly record struct IoUringCompletion(ulong UserData, int Result);

/// <summary>
/// An <c>io_uring(7)</c> instance for one thread: a submission ring the caller fills with
/// operations (<c>Prepare*</c>), one <c>io_uring_enter(2)</c> per batch (<see cref="Submit"/>),
/// and a completion ring read without a system call (<see cref="TryReap"/>).
/// </summary>
/// <remarks>
/// <para>
/// Not thread-safe: one owner thread prepares, submits and reaps. Buffers and iovec lists named by a
/// prepared operation must stay valid until its completion is reaped, and the file descriptor open.
/// </para>
/// <para>
/// Only what the kernel has offered since 5.1 to 5.6 is used (vectored and fixed-buffer reads and
/// writes, fsync, a completion eventfd, registered buffers), and the single-mmap layout only when
/// the kernel says it has it. <see cref="Create"/> throws a <see cref="SysException"/> where io_uring
/// is missing (<c>ENOSYS</c>) or refused (<c>EPERM</c> from seccomp or the
/// <c>kernel.io_uring_disabled</c> sysctl): callers choose another engine then.
/// </para>
/// </remarks>
public sealed unsafe class IoUring : IDisposable
{
    // Opcodes, flags and offsets from include/uapi/linux/io_uring.h.
    private const byte OpReadV = 1;
    private const byte OpWriteV = 2;
    private const byte OpFsync = 3;
    private const byte OpReadFixed = 4;
    private const byte OpWriteFixed = 5;
    private const uint FsyncDataSync = 1;
    private const uint EnterGetEvents = 1;
    private const uint RegisterBuffersOp = 0;
    private const uint UnregisterBuffersOp = 1;
    private const uint RegisterEventFdOp = 4;
    private const uint FeatSingleMmap = 1;
    private const long OffSqRing = 0;
    private const long OffCqRing = 0x8000000;
    private const long OffSqes = 0x10000000;

    private readonly FileDescriptor _fd;
    private readonly MappedMemory _sqRing;
    private readonly MappedMemory? _cqRingOwn;
    private readonly MappedMemory _sqeMemory;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint _sqMask;
    private readonly uint* _sqArray;
    private readonly Sqe* _sqes;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;
    private uint _tail;
    private uint _submitted;

    private IoUring(FileDescriptor fd, in Params p)
    {
        _fd = fd;
        SubmissionEntries = p.SqEntries;
        CompletionEntries = p.CqEntries;
        ulong sqSize = p.SqOff.Array + (p.SqEntries * sizeof(uint));
        ulong cqSize = p.CqOff.Cqes + (p.CqEntries * (ulong)sizeof(Cqe));
        bool single = (p.Features & FeatSingleMmap) != 0;
        if (single)
        {
            sqSize = Math.Max(sqSize, cqSize);
        }

        _sqRing = MappedMemory.Map(fd, OffSqRing, sqSize, writable: true);
        MappedMemory cqRing = single ? _sqRing : (_cqRingOwn = MappedMemory.Map(fd, OffCqRing, cqSize, writable: true));
        _sqeMemory = MappedMemory.Map(fd, OffSqes, p.SqEntries * (ulong)sizeof(Sqe), writable: true);

        byte* sq = (byte*)_sqRing.Address;
        byte* cq = (byte*)cqRing.Address;
        _sqHead = (uint*)(sq + p.SqOff.Head);
        _sqTail = (uint*)(sq + p.SqOff.Tail);
        _sqMask = *(uint*)(sq + p.SqOff.RingMask);
        _sqArray = (uint*)(sq + p.SqOff.Array);
        _sqes = (Sqe*)_sqeMemory.Address;
        _cqHead = (uint*)(cq + p.CqOff.Head);
        _cqTail = (uint*)(cq + p.CqOff.Tail);
        _cqMask = *(uint*)(cq + p.CqOff.RingMask);
        _cqes = (Cqe*)(cq + p.CqOff.Cqes);
        _tail = *_sqTail;
        _submitted = _tail;
    }

    /// <summary>The submission ring's size (the kernel rounds the request up to a power of two).</summary>
    public uint SubmissionEntries { get; }

    /// <summary>The completion ring's size (twice the submission ring's).</summary>
    public uint CompletionEntries { get; }

    /// <summary>Operations prepared and not yet handed to the kernel by <see cref="Submit"/>.</summary>
    public uint Unsubmitted => _tail - _submitted;

    /// <summary>Submission entries free for <c>Prepare*</c>.</summary>
    public uint FreeEntries => SubmissionEntries - (_tail - Volatile.Read(ref *_sqHead));

    /// <summary>Sets up a ring of at least <paramref name="entries"/> submission entries.</summary>
    /// <exception cref="SysException"><c>io_uring_setup</c> failed: missing, refused or out of memory.</exception>
    public static IoUring Create(uint entries)
    {
        ArgumentOutOfRangeException.ThrowIfZero(entries);
        Params p = default;
        long fd = NativeMethods.syscall6(NativeMethods.SYS_io_uring_setup, entries, (long)&p, 0, 0, 0, 0);
        if (fd < 0)
        {
            Errno.Throw("io_uring_setup");
        }

        FileDescriptor handle = FileDescriptor.Adopt((int)fd);
        try
        {
            return new IoUring(handle, p);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A vectored read (<paramref name="write"/> false) or write of <paramref name="count"/> entries of
    /// <paramref name="iov"/> from <paramref name="first"/>, at <paramref name="offset"/> of <paramref name="file"/>.
    /// </summary>
    public void PrepareVectored(bool write, FileDescriptor file, IoVecList iov, int first, int count, long offset, ulong userData)
    {
        ArgumentNullException.ThrowIfNull(iov);
        if (first < 0 || count <= 0 || count > iov.Length - first)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"entries {first}+{count} of {iov.Length}");
        }

        Sqe* e = Next(write ? OpWriteV : OpReadV, file, userData);
        e->Offset = (ulong)offset;
        e->Address = (ulong)iov.AddressOf(first);
        e->Length = (uint)count;
        Publish();
    }

    /// <summary>
    /// A read or write of one buffer inside registered buffer <paramref name="bufferIndex"/>
    /// (<see cref="RegisterBuffers"/>): the kernel skips pinning and mapping its pages.
    /// </summary>
    public void PrepareFixed(bool write, FileDescriptor file, nint address, uint length, long offset, ushort bufferIndex, ulong userData)
    {
        Sqe* e = Next(write ? OpWriteFixed : OpReadFixed, file, userData);
        e->Offset = (ulong)offset;
        e->Address = (ulong)address;
        e->Length = length;
        e->BufferIndex = bufferIndex;
        Publish();
    }

    /// <summary>An <c>fsync</c>, or an <c>fdatasync</c> when <paramref name="dataOnly"/>.</summary>
    public void PrepareFsync(FileDescriptor file, bool dataOnly, ulong userData)
    {
        Sqe* e = Next(OpFsync, file, userData);
        e->OpFlags = dataOnly ? FsyncDataSync : 0;
        Publish();
    }

    /// <summary>
    /// Hands every prepared operation to the kernel in one <c>io_uring_enter</c>; retries
    /// <c>EINTR</c>. An <c>EAGAIN</c> or <c>EBUSY</c> (the kernel is short of memory, or completions
    /// wait to be reaped) leaves the rest for the next call.
    /// </summary>
    /// <returns>Operations the kernel took.</returns>
    public int Submit()
    {
        uint pending = _tail - _submitted;
        if (pending == 0)
        {
            return 0;
        }

        long n = Enter(pending, 0, 0);
        if (n < 0)
        {
            return 0;
        }

        _submitted += (uint)n;
        return (int)n;
    }

    /// <summary>Submits what is prepared and blocks until at least one completion is there to reap.</summary>
    public void SubmitAndWait()
    {
        uint pending = _tail - _submitted;
        long n = Enter(pending, 1, EnterGetEvents);
        if (n > 0)
        {
            _submitted += (uint)n;
        }
    }

    /// <summary>Takes the oldest completion, if any; no system call.</summary>
    public bool TryReap(out IoUringCompletion completion)
    {
        uint head = *_cqHead;
        if (head == Volatile.Read(ref *_cqTail))
        {
            completion = default;
            return false;
        }

        Cqe* c = &_cqes[head & _cqMask];
        completion = new IoUringCompletion(c->UserData, c->Result);
        Volatile.Write(ref *_cqHead, head + 1);
        return true;
    }

    /// <summary>Has the kernel signal <paramref name="eventFd"/> for each completion (<c>IORING_REGISTER_EVENTFD</c>).</summary>
    public void RegisterEventFd(EventFd eventFd)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        using FdRef r = new(eventFd.Handle);
        int fd = r.Fd;
        Register(RegisterEventFdOp, &fd, 1, "io_uring_register(EVENTFD)");
    }

    /// <summary>
    /// Registers <paramref name="buffers"/> for <see cref="PrepareFixed"/>, buffer index = position;
    /// the kernel pins their pages (counted against <c>RLIMIT_MEMLOCK</c>) until
    /// <see cref="UnregisterBuffers"/>.
    /// </summary>
    public void RegisterBuffers(ReadOnlySpan<IoVec> buffers)
    {
        fixed (IoVec* p = buffers)
        {
            Register(RegisterBuffersOp, p, (uint)buffers.Length, "io_uring_register(BUFFERS)");
        }
    }

    /// <summary>Drops the registered buffers; the caller has reaped every operation that used them.</summary>
    public void UnregisterBuffers() => Register(UnregisterBuffersOp, null, 0, "io_uring_register(UNREGISTER_BUFFERS)");

    /// <summary>Unmaps the rings and closes the instance (the kernel cancels what is still in flight).</summary>
    public void Dispose()
    {
        _sqeMemory.Dispose();
        _cqRingOwn?.Dispose();
        _sqRing.Dispose();
        _fd.Dispose();
    }

    private Sqe* Next(byte opcode, FileDescriptor file, ulong userData)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (FreeEntries == 0)
        {
            throw new InvalidOperationException("io_uring submission ring full");
        }

        uint index = _tail & _sqMask;
        Sqe* e = &_sqes[index];
        *e = default;
        e->Opcode = opcode;
        e->Fd = file.DangerousFd;
        e->UserData = userData;
        _sqArray[index] = index;
        return e;
    }

    /// <summary>Publishes the entry <see cref="Next"/> gave: the entry before the tail that publishes it.</summary>
    private void Publish() => Volatile.Write(ref *_sqTail, ++_tail);

    private long Enter(uint toSubmit, uint minComplete, uint flags)
    {
        long n = Call(NativeMethods.SYS_io_uring_enter, toSubmit, minComplete, flags, 0);
        if (n < 0)
        {
            int errno = Errno.Last;
            if (errno != LibC.EAGAIN && errno != LibC.EBUSY)
            {
                Errno.Throw("io_uring_enter", errno);
            }
        }

        return n;
    }

    private void Register(uint opcode, void* arg, uint count, string call)
    {
        if (Call(NativeMethods.SYS_io_uring_register, opcode, (long)arg, count, 0) < 0)
        {
            Errno.Throw(call);
        }
    }

    /// <summary>One io_uring system call on this instance's fd, <c>EINTR</c> retried; -1 with errno set on failure.</summary>
    private long Call(long number, long a2, long a3, long a4, long a5)
    {
        using FdRef r = new(_fd);
        long n;
        do
        {
            n = NativeMethods.syscall6(number, r.Fd, a2, a3, a4, a5, 0);
        }
        while (n < 0 && Errno.Last == LibC.EINTR);

        return n;
    }

    /// <summary><c>struct io_uring_sqe</c> (64 bytes), the fields used here.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct Sqe
    {
        [FieldOffset(0)] public byte Opcode;
        [FieldOffset(1)] public byte Flags;
        [FieldOffset(4)] public int Fd;
        [FieldOffset(8)] public ulong Offset;
        [FieldOffset(16)] public ulong Address;
        [FieldOffset(24)] public uint Length;
        [FieldOffset(28)] public uint OpFlags;
        [FieldOffset(32)] public ulong UserData;
        [FieldOffset(40)] public ushort BufferIndex;
    }

    /// <summary><c>struct io_uring_cqe</c> (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Cqe
    {
        public ulong UserData;
        public int Result;
        public uint Flags;
    }

    /// <summary><c>struct io_sqring_offsets</c> (40 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;
        public ulong UserAddr;
    }

    /// <summary><c>struct io_cqring_offsets</c> (40 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct CqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;
        public ulong UserAddr;
    }

    /// <summary><c>struct io_uring_params</c> (120 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Params
    {
        public uint SqEntries, CqEntries, Flags, SqThreadCpu, SqThreadIdle, Features, WqFd, Resv0, Resv1, Resv2;
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }
}
