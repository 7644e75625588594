// SPDX-License-Identifier: MIT
//
// stream-peer: the host side of a console port in the guest tests. Connects to a unix stream
// socket (waiting for it to appear), then at the same time sends a file and receives a given
// number of bytes into a file, and reports when each finished (the caller compares the files'
// sha256; .NET's hashing needs OpenSSL, which a busybox guest lacks):
//
//   stream-peer PATH [--send FILE] [--expect N] [--out FILE] [--wait-eof] [--timeout MS]
//
//   CONNECTED <ms to connect>
//   SENT <bytes> <ms>                 after the whole file went out
//   RECV <bytes> <ms>                 after N bytes came in (exactly N are written to --out)
//   EOF <bytes before it> <ms>        with --wait-eof: when the other side closed
//
// Exit status: 0 everything happened, 1 timeout or connection failure, 2 bad arguments.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Threading;

string? path = null;
string? send = null;
string? output = null;
long expect = -1;
bool waitEof = false;
int timeoutMs = 60000;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--send" when i + 1 < args.Length: send = args[++i]; break;
        case "--out" when i + 1 < args.Length: output = args[++i]; break;
        case "--expect" when i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out long n): expect = n; i++; break;
        case "--timeout" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int t): timeoutMs = t; i++; break;
        case "--wait-eof": waitEof = true; break;
        default:
            if (path is null && !args[i].StartsWith('-'))
            {
                path = args[i];
                break;
            }

            Console.Error.WriteLine($"stream-peer: bad argument '{args[i]}'");
            return 2;
    }
}

if (path is null)
{
    Console.Error.WriteLine("stream-peer: usage: stream-peer PATH [--send FILE] [--expect N] [--out FILE] [--wait-eof] [--timeout MS]");
    return 2;
}

Stopwatch clock = Stopwatch.StartNew();
using Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
while (true)
{
    try
    {
        socket.Connect(new UnixDomainSocketEndPoint(path));
        break;
    }
    catch (SocketException) when (clock.ElapsedMilliseconds < timeoutMs)
    {
        Thread.Sleep(50);
    }
    catch (SocketException e)
    {
        Console.Error.WriteLine($"stream-peer: connect {path}: {e.Message}");
        return 1;
    }
}

Console.WriteLine($"CONNECTED {clock.ElapsedMilliseconds}");
Stopwatch transfer = Stopwatch.StartNew();
bool sendOk = true;
Thread? sender = null;
if (send is not null)
{
    sender = new Thread(() =>
    {
        try
        {
            byte[] data = File.ReadAllBytes(send);
            socket.Send(data);
            Console.WriteLine($"SENT {data.Length} {transfer.ElapsedMilliseconds}");
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            Console.Error.WriteLine($"stream-peer: send: {e.Message}");
            sendOk = false;
        }
    });
    sender.Start();
}

bool receiveOk = true;
if (expect >= 0 || waitEof)
{
    using FileStream? file = output is null ? null : File.Create(output);
    byte[] buffer = new byte[65536];
    long received = 0;
    bool done = false;
    socket.ReceiveTimeout = timeoutMs;
    try
    {
        while (true)
        {
            int n = socket.Receive(buffer);
            if (n == 0)
            {
                if (waitEof)
                {
                    Console.WriteLine($"EOF {received} {transfer.ElapsedMilliseconds}");
                }
                else
                {
                    Console.Error.WriteLine($"stream-peer: end of file after {received} of {expect} bytes");
                    receiveOk = false;
                }

                break;
            }

            int take = expect < 0 ? 0 : (int)Math.Min(n, Math.Max(0, expect - received));
            file?.Write(buffer, 0, take);
            received += n;
            if (!done && expect >= 0 && received >= expect)
            {
                done = true;
                file?.Flush();
                Console.WriteLine($"RECV {expect} {transfer.ElapsedMilliseconds}");
                if (!waitEof)
                {
                    break;
                }
            }
        }
    }
    catch (SocketException e)
    {
        Console.Error.WriteLine($"stream-peer: receive after {received} bytes: {e.Message}");
        receiveOk = false;
    }
}

sender?.Join();
return sendOk && receiveOk ? 0 : 1;
