// SPDX-License-Identifier: MIT
using System;
using System.IO;
using Microsoft.Win32.SafeHandles;

namespace VirtioLoopback.Devices.Rng;

/// <summary>
/// Entropy read from a file: a character device such as <c>/dev/urandom</c> or <c>/dev/hwrng</c>,
/// or a regular file, which wraps to its start at end of file (useful for reproducible tests).
/// </summary>
/// <remarks>
/// Reads go through <see cref="RandomAccess"/>, which uses <c>pread(2)</c> on seekable files and
/// <c>read(2)</c> on devices and pipes. Short reads are retried until the buffer is full.
/// </remarks>
public sealed class FileEntropySource : IEntropySource
{
    private readonly SafeFileHandle _handle;
    private long _offset;

    private FileEntropySource(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The file the bytes come from.</summary>
    public string Path { get; }

    /// <summary>The last read failure, or null when the last fill succeeded.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>
    /// Opens <paramref name="path"/> for reading. A regular file must not be empty, otherwise it
    /// could never give a byte.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened, or is an empty regular file.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission denied.</exception>
    public static FileEntropySource Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        try
        {
            // One trial byte: an empty regular file (or a dead device) is refused here, at start-up,
            // rather than answering every request with nothing. For a regular file this reads at
            // offset 0 and consumes nothing; a device just loses one byte.
            Span<byte> probe = stackalloc byte[1];
            if (RandomAccess.Read(handle, probe, 0) == 0)
            {
                throw new IOException($"{path}: the file is empty");
            }

            return new FileEntropySource(handle, path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int Fill(Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(_handle, destination[done..], _offset);
            }
            catch (IOException e)
            {
                LastError = e;
                return done;
            }

            if (n == 0)
            {
                // End of a regular file: start over. Nothing even at the start means the file
                // was emptied (or the device died): give up instead of spinning.
                if (_offset == 0)
                {
                    LastError = new EndOfStreamException($"{Path}: no data");
                    return done;
                }

                _offset = 0;
                continue;
            }

            done += n;
            _offset += n;
        }

        LastError = null;
        return done;
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
