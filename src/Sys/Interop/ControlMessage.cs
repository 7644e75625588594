// SPDX-License-Identifier: MIT
using Tmds.Linux;

namespace VirtioLoopback.Sys.Interop;

/// <summary>
/// The <c>CMSG_*</c> macros of <c>&lt;sys/socket.h&gt;</c>, done here because Tmds.LibC 0.5's
/// <c>CMSG_LEN</c> pads the data length (<c>CMSG_LEN(12)</c> returns 32, not 28): a sender using it
/// would announce one more fd than it filled in, and the kernel would pass whatever number sits in
/// the padding.
/// </summary>
internal static unsafe class ControlMessage
{
    /// <summary><c>CMSG_ALIGN</c>: round up to the size of <c>size_t</c>.</summary>
    internal static int Align(int length) => (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);

    /// <summary><c>CMSG_LEN</c>: header plus <paramref name="dataLength"/> bytes, unpadded.</summary>
    internal static int Length(int dataLength) => Align(sizeof(cmsghdr)) + dataLength;

    /// <summary><c>CMSG_SPACE</c>: header plus padded data, the room one message takes in the buffer.</summary>
    internal static int Space(int dataLength) => Align(sizeof(cmsghdr)) + Align(dataLength);

    /// <summary><c>CMSG_DATA</c>.</summary>
    internal static byte* Data(cmsghdr* header) => (byte*)header + Align(sizeof(cmsghdr));

    /// <summary><c>CMSG_FIRSTHDR</c>.</summary>
    internal static cmsghdr* First(msghdr* msg) =>
        (uint)msg->msg_controllen >= (uint)sizeof(cmsghdr) ? (cmsghdr*)msg->msg_control : null;

    /// <summary><c>CMSG_NXTHDR</c>: the next header, or null if it would not fit the (kernel-updated) control length.</summary>
    internal static cmsghdr* Next(msghdr* msg, cmsghdr* header)
    {
        ulong length = (uint)header->cmsg_len;
        if (length < (ulong)sizeof(cmsghdr))
        {
            return null;
        }

        byte* next = (byte*)header + Align((int)length);
        byte* end = (byte*)msg->msg_control + (uint)msg->msg_controllen;
        return next + sizeof(cmsghdr) > end ? null : (cmsghdr*)next;
    }
}
