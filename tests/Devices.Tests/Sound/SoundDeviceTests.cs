// SPDX-License-Identifier: MIT
using System;
using System.Buffers.Binary;
using System.Linq;
using NUnit.Framework;
using VirtioLoopback.Devices.Sound;
using VirtioLoopback.TestDriver;
using VirtioLoopback.Tests.Common;
using VirtioLoopback.Tests.Input;
using VirtioLoopback.Tests.Rng;

namespace VirtioLoopback.Tests.Sound;

/// <summary>
/// The sound device driven as a (possibly hostile) driver would, on a fake clock: the control
/// requests, the PCM lifecycle, and I/O messages completed when the clock reaches them.
/// </summary>
[TestFixture]
public sealed class SoundDeviceTests
{
    private const int Control = 0;
    private const int Tx = 2;
    private const int Rx = 3;
    private const uint Ok = 0x8000;
    private const uint BadMsg = 0x8001;
    private const uint NotSupported = 0x8002;
    private const uint IoError = 0x8003;
    private const uint PcmInfo = 0x0100;
    private const uint SetParamsCode = 0x0101;
    private const uint Prepare = 0x0102;
    private const uint Release = 0x0103;
    private const uint Start = 0x0104;
    private const uint Stop = 0x0105;
    private const uint JackInfo = 1;
    private const uint ChmapInfo = 0x0200;
    private const byte Rate48k = 7;
    private const byte Rate44k1 = 6;

    // S16 stereo at 48 kHz: 192,000 bytes a second, so a 10 ms period is 1,920 bytes.
    private const uint Period = 1920;

    private TestGuestMemory _guest = null!;
    private FakeTimeProvider _clock = null!;
    private MemorySink _sink = null!;
    private SoundLogic _logic = null!;
    private QueueHarness _control = null!;
    private QueueHarness _tx = null!;
    private QueueHarness _rx = null!;

    [SetUp]
    public void Create()
    {
        _clock = new FakeTimeProvider();
        _sink = new MemorySink(_clock);
        _logic = new SoundLogic(_sink, new PatternSource(_clock), _clock);
        _logic.Attach(new FakeScheduler(), FakeHost.Instance);
        // One guest memory for every queue, as in a real device (STOP reads the transmit queue's
        // frames while it answers on the control queue).
        _guest = new TestGuestMemory(4 << 20);
        _control = new QueueHarness(size: 64, guest: _guest) { Index = Control };
        _tx = new QueueHarness(size: 64, guest: _guest) { Index = Tx };
        _rx = new QueueHarness(size: 64, guest: _guest) { Index = Rx };
        _logic.QueueStarted(Control, _control);
        _logic.QueueStarted(Tx, _tx);
        _logic.QueueStarted(Rx, _rx);
    }

    [TearDown]
    public void Dispose()
    {
        _logic.Dispose();
        _sink.Dispose();
        _control.Dispose();
        _tx.Dispose();
        _rx.Dispose();
        _guest.Dispose();
    }

    [Test]
    public void InfoQueries_DescribeTheStreams_JacksAndChannelMaps()
    {
        byte[] config = new byte[12];
        _logic.ReadConfig(0, config);
        Assert.That(Words(config), Is.EqualTo(new uint[] { 2, 2, 3 }), "jacks, streams, chmaps");

        byte[] pcm = Ask(Query(PcmInfo, 0, 2, 32), 4 + 64, Ok);
        Assert.Multiple(() =>
        {
            Assert.That(pcm[4 + 24], Is.EqualTo(0), "stream 0 is output");
            Assert.That((pcm[4 + 25], pcm[4 + 26]), Is.EqualTo((1, 2)), "stream 0 channels");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(pcm.AsSpan(4 + 8)), Is.EqualTo(PcmFormat.AllFormats));
            Assert.That(pcm[36 + 24], Is.EqualTo(1), "stream 1 is input");
            Assert.That((pcm[36 + 25], pcm[36 + 26]), Is.EqualTo((1, 1)), "stream 1 has the source's channel");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(pcm.AsSpan(36 + 8)), Is.EqualTo(1UL << PcmFormat.S16));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(pcm.AsSpan(36 + 16)), Is.EqualTo(1UL << Rate44k1));
        });

        byte[] jacks = Ask(Query(JackInfo, 0, 2, 24), 4 + 48, Ok);
        Assert.That((jacks[4 + 16], jacks[28 + 16]), Is.EqualTo((1, 1)), "both jacks connected");

        // A larger item size than the device's structure: items are that far apart, the rest zero.
        byte[] maps = Ask(Query(ChmapInfo, 0, 3, 32), 4 + 96, Ok);
        Assert.Multiple(() =>
        {
            Assert.That(maps.Skip(4 + 4).Take(3).ToArray(), Is.EqualTo(new byte[] { 0, 1, 2 }), "output mono");
            Assert.That(maps.Skip(36 + 4).Take(4).ToArray(), Is.EqualTo(new byte[] { 0, 2, 3, 4 }), "output FL FR");
            Assert.That(maps.Skip(68 + 4).Take(3).ToArray(), Is.EqualTo(new byte[] { 1, 1, 2 }), "input mono");
            Assert.That(maps.Skip(4 + 24).Take(8).ToArray(), Is.All.EqualTo(0), "padding to the asked size");
        });
    }

    [Test]
    public void MalformedControlRequests_GetAnErrorStatus_AndChangeNothing()
    {
        (byte[] Request, uint Room, uint Status)[] cases =
        [
            ([1, 2], 4, BadMsg),                                        // shorter than a code
            (Word(0x7777), 4, NotSupported),                            // unknown code
            (Query(PcmInfo, 0xffff_ffff, 2, 32), 100, BadMsg),          // start + count wraps
            (Query(PcmInfo, 1, 2, 32), 100, BadMsg),                    // beyond the streams
            (Query(PcmInfo, 0, 1, 16), 100, BadMsg),                    // item size below the structure
            (Query(PcmInfo, 0, 2, 32), 40, BadMsg),                     // response buffer too small
            (Query(PcmInfo, 0, 1, 1 << 30), 100, BadMsg),               // size * count beyond any buffer
            (Query(PcmInfo, 0, 1, 32)[..12], 100, BadMsg),              // truncated query
            (SetParams(2, Period * 4, Period, 2, PcmFormat.S16, Rate48k), 4, BadMsg),      // no such stream
            (SetParams(0, Period * 4, Period, 2, 0, Rate48k), 4, NotSupported),           // IMA ADPCM
            (SetParams(0, Period * 4, Period, 2, PcmFormat.S16, 13), 4, NotSupported),     // 384 kHz
            (SetParams(0, Period * 4, Period, 8, PcmFormat.S16, Rate48k), 4, NotSupported), // 8 channels
            (SetParams(0, Period * 4, Period, 2, 200, 200), 4, NotSupported),              // bits beyond the maps
            (SetParams(0, Period * 4, 0, 2, PcmFormat.S16, Rate48k), 4, BadMsg),           // empty period
            (SetParams(0, Period, Period * 4, 2, PcmFormat.S16, Rate48k), 4, BadMsg),      // buffer below period
            (SetParams(0, Period * 4, Period + 1, 2, PcmFormat.S16, Rate48k), 4, BadMsg),  // period not whole frames
            (SetParams(0, uint.MaxValue - 3, Period, 2, PcmFormat.S16, Rate48k), 4, BadMsg), // huge buffer
            (SetParams(0, Period * 4, Period, 2, PcmFormat.S16, Rate48k, features: 1 << 4), 4, BadMsg), // unoffered feature
            (Pcm(Prepare, 0), 4, BadMsg),                               // before SET_PARAMS
            (Pcm(Start, 0), 4, BadMsg),
            (Pcm(Stop, 0), 4, BadMsg),
            (Pcm(Release, 0), 4, BadMsg),
            (Pcm(Start, 9), 4, BadMsg),                                 // no such stream
            (Word(0x0301), 4, NotSupported),                            // a control element request (no CTLS)
        ];
        foreach ((byte[] request, uint room, uint status) in cases)
        {
            Ask(request, room, status);
        }

        // Nowhere to put a status: the request goes back with nothing written.
        ushort head = _control.Driver.AddChain(_control.Readable(Pcm(Prepare, 0)), _control.Writable(2));
        _logic.ServiceQueue(Control, _control);
        Assert.That(_control.TakeUsed(), Is.EqualTo(new[] { (head, 0u) }));
        Assert.That(_control.IsBroken, Is.False, "malformed requests break nothing");
        Assert.That(_logic.BadRequests, Is.EqualTo(19), "each BAD_MSG is counted");

        // The device is as new: the driver's real sequence works.
        Ask(SetParams(0, Period * 4, Period, 2, PcmFormat.S16, Rate48k), 4, Ok);
        Ask(Pcm(Prepare, 0), 4, Ok);
        Ask(Pcm(Start, 0), 4, Ok);
        Ask(Pcm(Start, 0), 4, BadMsg);
        Ask(SetParams(0, Period * 4, Period, 2, PcmFormat.S16, Rate48k), 4, BadMsg);
    }

    [Test]
    public void Playback_CompletesEachMessage_WhenTheDeviceClockHasPlayedIt()
    {
        StartPlayback();
        byte[][] periods = [Pattern(Period, 1), Pattern(Period, 2), Pattern(Period, 3)];
        (ushort Head, DriverBuffer Status)[] sent = periods.Select(p => Send(0, p)).ToArray();
        _logic.ServiceQueue(Tx, _tx);
        Ask(Pcm(Start, 0), 4, Ok);
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.Empty, "nothing is played at the start");

        _clock.Advance(TimeSpan.FromMicroseconds(9_990));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.Empty, "10 ms of audio take 10 ms");

        _clock.Advance(TimeSpan.FromMicroseconds(10));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (sent[0].Head, 8u) }));
        Assert.That(Words(_tx.Bytes(sent[0].Status)), Is.EqualTo(new[] { Ok, Period * 2 }), "status OK, two periods still queued");

        _clock.Advance(TimeSpan.FromMilliseconds(15));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (sent[1].Head, 8u) }), "at 25 ms: the third is due at 30 ms");
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (sent[2].Head, 8u) }));
        Assert.That(_sink.Played, Is.EqualTo(periods.SelectMany(p => p)), "the sink got every frame in order");
    }

    [Test]
    public void Stop_PausesTheClock_Start_Resumes_Release_ReturnsWhatIsHeld()
    {
        StartPlayback();
        (ushort first, _) = Send(0, Pattern(Period, 1));
        (ushort second, DriverBuffer secondStatus) = Send(0, Pattern(Period, 2));
        _logic.ServiceQueue(Tx, _tx);
        Ask(Pcm(Start, 0), 4, Ok);
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        Ask(Pcm(Stop, 0), 4, Ok);
        _clock.Advance(TimeSpan.FromSeconds(1));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.Empty, "a stopped stream plays nothing");

        Ask(Pcm(Start, 0), 4, Ok);
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (first, 8u) }), "5 ms before the stop and 5 ms after it");

        Ask(Pcm(Release, 0), 4, BadMsg);
        Ask(Pcm(Stop, 0), 4, Ok);
        Ask(Pcm(Release, 0), 4, Ok);
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (second, 8u) }), "RELEASE returns the held message");
        Assert.That(Words(_tx.Bytes(secondStatus))[0], Is.EqualTo(Ok));
        Assert.That(_sink.Played, Is.EqualTo(Pattern(Period, 1)), "the unplayed message never reached the sink");
        Assert.That(_sink.Ends, Is.EqualTo(1), "the sink is told at RELEASE");
    }

    [Test]
    public void AnUnderrun_IsPlayedAsSilence_OfTheLengthTheDriverWasLate()
    {
        StartPlayback();
        Send(0, Pattern(Period, 1));
        _logic.ServiceQueue(Tx, _tx);
        Ask(Pcm(Start, 0), 4, Ok);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Has.Length.EqualTo(1));

        _clock.Advance(TimeSpan.FromMilliseconds(50));
        Send(0, Pattern(Period, 2));
        _logic.ServiceQueue(Tx, _tx);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Has.Length.EqualTo(1), "the late message plays from its arrival");
        byte[] expected = [.. Pattern(Period, 1), .. new byte[50 * 192], .. Pattern(Period, 2)];
        Assert.That(_sink.Played, Is.EqualTo(expected), "50 ms of silence between the periods");
    }

    [Test]
    public void Capture_FillsEachMessageFromTheSource_OnTheClock()
    {
        // S16 mono at 44.1 kHz: 88,200 bytes a second; 882 bytes are 10 ms.
        Ask(SetParams(1, 882 * 4, 882, 1, PcmFormat.S16, Rate44k1), 4, Ok);
        Ask(Pcm(Prepare, 1), 4, Ok);
        DriverBuffer[] data = new DriverBuffer[2];
        ushort[] heads = new ushort[2];
        for (int i = 0; i < 2; i++)
        {
            // The frames split over two buffers, as the driver's pages may be.
            data[i] = _rx.Writable(882);
            heads[i] = _rx.Driver.AddChain(_rx.Readable(Word(1)), _rx.Writable(0), data[i], _rx.Writable(8));
        }

        _logic.ServiceQueue(Rx, _rx);
        Ask(Pcm(Start, 1), 4, Ok);
        _clock.Advance(TimeSpan.FromMilliseconds(20));
        _logic.ServiceQueue(Rx, _rx);
        Assert.That(_rx.TakeUsed(), Is.EqualTo(new[] { (heads[0], 890u), (heads[1], 890u) }), "frames plus the status");
        byte[] got = [.. _rx.Bytes(data[0]), .. _rx.Bytes(data[1])];
        Assert.That(got, Is.EqualTo(Enumerable.Range(0, 1764).Select(n => PatternSource.At(n))), "the source's first 20 ms");
    }

    [Test]
    public void BadIoMessages_AreAnsweredWithErrors_OrBreakOnlyTheirQueue()
    {
        // Before PREPARE, for the capture stream on the transmit queue, not whole frames, no status room.
        (ushort early, DriverBuffer earlyStatus) = Send(0, Pattern(Period, 1));
        _logic.ServiceQueue(Tx, _tx);
        StartPlayback();
        (ushort wrong, DriverBuffer wrongStatus) = Send(1, Pattern(Period, 1));
        (ushort odd, DriverBuffer oddStatus) = Send(0, Pattern(3, 1));
        ushort cramped = _tx.Driver.AddChain(_tx.Readable([0, 0, 0, 0, .. Pattern(Period, 1)]), _tx.Writable(7));
        ushort bare = _tx.Driver.AddChain(_tx.Readable([0, 0]), _tx.Writable(8));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (early, 8u), (wrong, 8u), (odd, 8u), (cramped, 0u), (bare, 8u) }));
        Assert.Multiple(() =>
        {
            Assert.That(Words(_tx.Bytes(earlyStatus))[0], Is.EqualTo(BadMsg), "before PREPARE");
            Assert.That(Words(_tx.Bytes(wrongStatus))[0], Is.EqualTo(BadMsg), "capture stream on the transmit queue");
            Assert.That(Words(_tx.Bytes(oddStatus))[0], Is.EqualTo(BadMsg), "3 bytes of 4-byte frames");
            Assert.That(_tx.IsBroken, Is.False);
        });

        // A failing sink: the message reports an I/O error, and so do the next ones until PREPARE.
        _sink.FailWrites = true;
        (ushort failed, DriverBuffer failedStatus) = Send(0, Pattern(Period, 2));
        _logic.ServiceQueue(Tx, _tx);
        Ask(Pcm(Start, 0), 4, Ok);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.TakeUsed(), Is.EqualTo(new[] { (failed, 8u) }));
        Assert.That(Words(_tx.Bytes(failedStatus))[0], Is.EqualTo(IoError));

        // Frames outside guest memory: the transmit queue breaks, the control queue still answers.
        _tx.Driver.AddChain(_tx.Readable(Word(0)), DriverBuffer.DeviceReadable(0xdead_0000_0000, Period), _tx.Writable(8));
        _logic.ServiceQueue(Tx, _tx);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        _sink.FailWrites = false;
        Ask(Pcm(Stop, 0), 4, Ok);
        Ask(Pcm(Release, 0), 4, Ok);
        Ask(Pcm(Prepare, 0), 4, Ok);
        Ask(Pcm(Start, 0), 4, Ok);
        _logic.ServiceQueue(Tx, _tx);
        Assert.That(_tx.IsBroken, Is.True, "a buffer outside guest memory breaks the queue");
        Assert.That(_control.IsBroken, Is.False);
        Ask(Query(PcmInfo, 0, 1, 32), 36, Ok);
    }

    private static byte[] Word(uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    private static uint[] Words(ReadOnlySpan<byte> bytes)
    {
        uint[] words = new uint[bytes.Length / 4];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
        }

        return words;
    }

    private static byte[] Query(uint code, uint start, uint count, uint size) =>
        [.. Word(code), .. Word(start), .. Word(count), .. Word(size)];

    private static byte[] Pcm(uint code, uint stream) => [.. Word(code), .. Word(stream)];

    private static byte[] SetParams(uint stream, uint buffer, uint period, byte channels, byte format, byte rate, uint features = 0) =>
        [.. Pcm(SetParamsCode, stream), .. Word(buffer), .. Word(period), .. Word(features), channels, format, rate, 0];

    private static byte[] Pattern(uint length, byte seed) => Enumerable.Range(0, (int)length).Select(i => (byte)(i + (seed * 31))).ToArray();

    /// <summary>Sends a control request with <paramref name="room"/> response bytes; checks the status; returns the response.</summary>
    private byte[] Ask(byte[] request, uint room, uint status)
    {
        DriverBuffer response = _control.Writable(room);
        ushort head = _control.Driver.AddChain(_control.Readable(request), response);
        _logic.ServiceQueue(Control, _control);
        (ushort Id, uint Length)[] used = _control.TakeUsed();
        byte[] bytes = _control.Bytes(response).ToArray();
        Assert.That(used, Has.Length.EqualTo(1), $"request {Convert.ToHexString(request)} answered");
        Assert.That(used[0].Id, Is.EqualTo(head));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes), Is.EqualTo(status), $"status of {Convert.ToHexString(request)}");
        Assert.That(used[0].Length, Is.EqualTo(status == Ok ? room : 4u), "written bytes");
        return bytes;
    }

    private void StartPlayback()
    {
        Ask(SetParams(0, Period * 4, Period, 2, PcmFormat.S16, Rate48k), 4, Ok);
        Ask(Pcm(Prepare, 0), 4, Ok);
    }

    /// <summary>Queues a playback message for <paramref name="stream"/>: header, frames, status.</summary>
    private (ushort Head, DriverBuffer Status) Send(uint stream, byte[] frames)
    {
        DriverBuffer status = _tx.Writable(8);
        ushort head = _tx.Driver.AddChain(_tx.Readable(Word(stream)), _tx.Readable(frames), status);
        return (head, status);
    }
}
