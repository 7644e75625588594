// SPDX-License-Identifier: MIT
using System;
using System.Globalization;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace VirtioLoopback.Sys;

/// <summary>Pseudo-terminals and terminal settings, through the kernel's tty ioctls.</summary>
public static unsafe class Terminal
{
    // asm-generic/ioctls.h: the same numbers on x86_64 and arm64.
    private const uint TcGetS = 0x5401;
    private const uint TcSetS = 0x5402;
    private const uint TiocGWinSz = 0x5413;
    private const uint TiocGPtN = 0x80045430;
    private const uint TiocSPtLck = 0x40045431;

    // asm-generic/termbits.h: the bits cfmakeraw(3) clears or sets.
    private const uint IgnBrk = 0x1, BrkInt = 0x2, ParMrk = 0x8, IStrip = 0x20, INlCr = 0x40, IgnCr = 0x80, ICrNl = 0x100, IXon = 0x400;
    private const uint OPost = 0x1;
    private const uint Echo = 0x8, EchoNl = 0x40, ICanon = 0x2, ISig = 0x1, IExten = 0x8000;
    private const uint CSize = 0x30, ParEnb = 0x100, Cs8 = 0x30;

    /// <summary>
    /// Opens a new pseudo-terminal master (<c>/dev/ptmx</c>, non-blocking, close-on-exec, never the
    /// controlling terminal) and unlocks its slave.
    /// </summary>
    /// <returns>The master and the slave's path (<c>/dev/pts/N</c>).</returns>
    /// <exception cref="SysException">No pty can be created.</exception>
    public static (FileDescriptor Master, string SlavePath) OpenPtyMaster()
    {
        FileDescriptor master = FileIo.Open("/dev/ptmx", LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_NONBLOCK);
        try
        {
            int unlock = 0;
            IoCtl.Invoke(master, TiocSPtLck, ref unlock);
            uint number = 0;
            IoCtl.Invoke(master, TiocGPtN, ref number);
            return (master, "/dev/pts/" + number.ToString(CultureInfo.InvariantCulture));
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>Puts the terminal at <paramref name="path"/> in raw mode (cfmakeraw's settings); the setting stays after the close.</summary>
    /// <exception cref="SysException">It cannot be opened or set.</exception>
    public static void MakeRaw(string path)
    {
        using FileDescriptor fd = FileIo.Open(path, LibC.O_RDWR | LibC.O_NOCTTY);
        KernelTermios t = default;
        IoCtl.Invoke(fd, TcGetS, ref t);
        t.IFlag &= ~(IgnBrk | BrkInt | ParMrk | IStrip | INlCr | IgnCr | ICrNl | IXon);
        t.OFlag &= ~OPost;
        t.LFlag &= ~(Echo | EchoNl | ICanon | ISig | IExten);
        t.CFlag &= ~(CSize | ParEnb);
        t.CFlag |= Cs8;
        IoCtl.Invoke(fd, TcSetS, ref t);
    }

    /// <summary>The window size of the terminal behind <paramref name="fd"/>; false when it has none set.</summary>
    public static bool TryGetWindowSize(FileDescriptor fd, out ushort cols, out ushort rows)
    {
        WinSize size = default;
        try
        {
            IoCtl.Invoke(fd, TiocGWinSz, ref size);
        }
        catch (SysException)
        {
            size = default;
        }

        cols = size.Cols;
        rows = size.Rows;
        return cols != 0 && rows != 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows;
        public ushort Cols;
        public ushort XPixel;
        public ushort YPixel;
    }

    // The kernel's struct termios (TCGETS/TCSETS), not glibc's.
    [StructLayout(LayoutKind.Sequential)]
    private struct KernelTermios
    {
        public uint IFlag;
        public uint OFlag;
        public uint CFlag;
        public uint LFlag;
        public byte Line;
        public fixed byte Cc[19];
    }
}
