// SPDX-License-Identifier: MIT
//
// wav-tool: makes and compares the WAV files of the sound guest tests.
//
//   wav-tool sine FILE RATE CHANNELS SECONDS HZ [SILENCE]
//       a full-scale-minus-6-dB S16 sine, every channel alike but the second a quarter period late,
//       then SILENCE seconds of silence (default none)
//   wav-tool compare EXPECTED ACTUAL
//       ACTUAL (what a playback sink recorded) holds EXPECTED's frames exactly after leading
//       silence, and only silence after them
//   wav-tool prefix EXPECTED ACTUAL
//       ACTUAL (what a capture read) is EXPECTED's first frames exactly, from frame 0
//
// Exit status: 0 when the check holds, 1 when it does not, 2 for bad arguments or unreadable files.
using System;
using System.Globalization;
using System.IO;
using Tmds.Linux;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.Devices.Sound.Endpoints;
using VirtioLoopback.Sys;

try
{
    return args switch
    {
        ["sine", string file, string rate, string channels, string seconds, string hz] =>
            Sine(file, Int(rate), Int(channels), Seconds(seconds), Int(hz), 0),
        ["sine", string file, string rate, string channels, string seconds, string hz, string silence] =>
            Sine(file, Int(rate), Int(channels), Seconds(seconds), Int(hz), Seconds(silence)),
        ["compare", string expected, string actual] => Compare(Load(expected), Load(actual), prefix: false),
        ["prefix", string expected, string actual] => Compare(Load(expected), Load(actual), prefix: true),
        _ => Usage(),
    };
}
catch (Exception e) when (e is IOException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"wav-tool: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: wav-tool sine FILE RATE CHANNELS SECONDS HZ [SILENCE] | compare EXPECTED ACTUAL | prefix EXPECTED ACTUAL");
    return 2;
}

static int Int(string s) => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);

static double Seconds(string s) => double.Parse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);

static int Sine(string file, int rate, int channels, double seconds, int hz, double silence)
{
    int frames = (int)(rate * seconds);
    int quiet = (int)(rate * silence);
    byte[] bytes = new byte[WavFile.HeaderSize + ((frames + quiet) * channels * 2)];
    WavFile.WriteHeader(bytes, PcmFormat.S16, (uint)rate, channels, bytes.Length - WavFile.HeaderSize);
    for (int f = 0; f < frames; f++)
    {
        for (int c = 0; c < channels; c++)
        {
            double phase = (2 * Math.PI * hz * f / rate) + (c * Math.PI / 2);
            short v = (short)Math.Round(16384 * Math.Sin(phase));
            if (v == 0)
            {
                v = 1; // no silent sample inside the tone, so alignment finds its first frame
            }

            int at = WavFile.HeaderSize + (((f * channels) + c) * 2);
            bytes[at] = (byte)v;
            bytes[at + 1] = (byte)(v >> 8);
        }
    }

    File.WriteAllBytes(file, bytes);
    Console.WriteLine($"{file}: {frames} frames of {hz} Hz and {quiet} of silence, S16_LE {rate} Hz {channels} ch");
    return 0;
}

static (byte[] Data, int Frame, string Format) Load(string path)
{
    using FileDescriptor fd = FileIo.Open(path, LibC.O_RDONLY);
    (byte format, uint hertz, int channels, long offset, long length) = WavFile.Read(fd);
    byte[] data = new byte[length];
    int got = 0;
    while (got < data.Length)
    {
        int n = FileIo.PRead(fd, data.AsSpan(got), offset + got);
        if (n <= 0)
        {
            throw new IOException($"{path}: short read");
        }

        got += n;
    }

    return (data, PcmFormat.BytesPerSample(format) * channels, $"{PcmFormat.Name(format)} {hertz} Hz {channels} ch");
}

static int Compare((byte[] Data, int Frame, string Format) expected, (byte[] Data, int Frame, string Format) actual, bool prefix)
{
    if (expected.Format != actual.Format)
    {
        Console.WriteLine($"FAIL formats differ: expected {expected.Format}, actual {actual.Format}");
        return 1;
    }

    int frame = expected.Frame;
    int start = 0;
    if (!prefix)
    {
        while (start < actual.Data.Length && actual.Data[start] == 0)
        {
            start++;
        }

        start -= start % frame;
    }

    int want = prefix ? Math.Min(actual.Data.Length, expected.Data.Length) : expected.Data.Length;
    ReadOnlySpan<byte> got = actual.Data.AsSpan(start, Math.Min(want, actual.Data.Length - start));
    int same = got.CommonPrefixLength(expected.Data.AsSpan(0, want));
    if (same < want)
    {
        Console.WriteLine($"FAIL frames differ from frame {same / frame} of {want / frame} (actual aligned at frame {start / frame}, actual has {actual.Data.Length / frame} frames)");
        return 1;
    }

    ReadOnlySpan<byte> tail = actual.Data.AsSpan(start + want);
    int loud = tail.IndexOfAnyExcept((byte)0);
    if (!prefix && loud >= 0)
    {
        Console.WriteLine($"FAIL sound after the expected frames, at tail frame {loud / frame} of {tail.Length / frame}");
        return 1;
    }

    Console.WriteLine($"OK {want / frame} frames equal ({expected.Format}), aligned at frame {start / frame}, {tail.Length / frame} silent frames after");
    return 0;
}
