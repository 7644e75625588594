// SPDX-License-Identifier: MIT
using System;
using System.Text;

namespace VirtioLoopback.Sys.Interop;

/// <summary>C strings (NUL-terminated UTF-8) for path and name arguments.</summary>
internal static class CString
{
    /// <summary>
    /// <paramref name="value"/> as UTF-8 with a terminating NUL: in <paramref name="buffer"/> (the
    /// caller's stack) when it fits, on the heap otherwise.
    /// </summary>
    internal static Span<byte> Encode(string value, Span<byte> buffer)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Span<byte> text = length < buffer.Length ? buffer[..(length + 1)] : new byte[length + 1];
        Encoding.UTF8.GetBytes(value, text);
        text[length] = 0;
        return text;
    }
}
