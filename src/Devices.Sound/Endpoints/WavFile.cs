// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.IO;
using VirtioLoopback.Sys;

namespace VirtioLoopback.Devices.Sound.Endpoints;

/// <summary>The RIFF/WAVE layout: the canonical 44-byte header written, and the chunks of any file read.</summary>
public static class WavFile
{
    /// <summary>The header <see cref="WriteHeader"/> writes; the samples follow it.</summary>
    public const int HeaderSize = 44;

    private const ushort TagPcm = 1;
    private const ushort TagFloat = 3;
    private const ushort TagExtensible = 0xfffe;

    /// <summary>Writes a header for <paramref name="dataBytes"/> bytes of samples in <paramref name="format"/>.</summary>
    public static void WriteHeader(Span<byte> header, byte format, uint hertz, int channels, long dataBytes)
    {
        int sample = PcmFormat.BytesPerSample(format);
        uint data = (uint)Math.Min(dataBytes, uint.MaxValue - HeaderSize);
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], data + HeaderSize - 8);
        "WAVEfmt "u8.CopyTo(header[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(header[20..], PcmFormat.IsFloat(format) ? TagFloat : TagPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(header[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], hertz);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], hertz * (uint)(sample * channels));
        BinaryPrimitives.WriteUInt16LittleEndian(header[32..], (ushort)(sample * channels));
        BinaryPrimitives.WriteUInt16LittleEndian(header[34..], (ushort)(sample * 8));
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[40..], data);
    }

    /// <summary>
    /// Reads the format and finds the samples of the WAV file open at <paramref name="fd"/>: PCM, IEEE
    /// float, or the extensible form of either.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a WAV file, or samples this device cannot play.</exception>
    /// <exception cref="SysException">The file cannot be read.</exception>
    public static (byte Format, uint Hertz, int Channels, long DataOffset, long DataBytes) Read(FileDescriptor fd)
    {
        Span<byte> head = stackalloc byte[40];
        if (FileIo.PRead(fd, head[..12], 0) != 12 || !head[..4].SequenceEqual("RIFF"u8) || !head[8..12].SequenceEqual("WAVE"u8))
        {
            throw new InvalidDataException("not a RIFF/WAVE file");
        }

        long size = FileIo.SeekEnd(fd);
        long at = 12;
        byte format = 0;
        uint hertz = 0;
        int channels = 0;
        bool haveFormat = false;
        while (at + 8 <= size)
        {
            if (FileIo.PRead(fd, head[..8], at) != 8)
            {
                break;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
            long body = at + 8;
            if (head[..4].SequenceEqual("fmt "u8))
            {
                int n = (int)Math.Min(length, 40u);
                if (n < 16 || FileIo.PRead(fd, head[..n], body) != n)
                {
                    throw new InvalidDataException("the fmt chunk is too short");
                }

                ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(head);
                if (tag == TagExtensible && n >= 26)
                {
                    tag = BinaryPrimitives.ReadUInt16LittleEndian(head[24..]);
                }

                channels = BinaryPrimitives.ReadUInt16LittleEndian(head[2..]);
                hertz = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
                int bits = BinaryPrimitives.ReadUInt16LittleEndian(head[14..]);
                format = tag is TagPcm or TagFloat ? PcmFormat.FromWav(tag == TagFloat, bits) : (byte)0;
                if (format == 0)
                {
                    throw new InvalidDataException($"format tag {tag} with {bits} bits per sample is not PCM or float this device plays");
                }

                haveFormat = true;
            }
            else if (head[..4].SequenceEqual("data"u8))
            {
                if (!haveFormat)
                {
                    throw new InvalidDataException("the data chunk comes before the fmt chunk");
                }

                long bytes = Math.Min(length, size - body);
                int frame = PcmFormat.BytesPerSample(format) * channels;
                return (format, hertz, channels, body, bytes - (bytes % frame));
            }

            at = body + length + (length & 1);
        }

        throw new InvalidDataException(haveFormat ? "no data chunk" : "no fmt chunk");
    }
}
