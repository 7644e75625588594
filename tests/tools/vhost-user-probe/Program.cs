// SPDX-License-Identifier: MIT
//
// vhost-user-probe: a vhost-user front end for tests, built on VhostUser.Frontend and the
// driver-side rings of tests/TestDriver.
//
//   vhost-user-probe --socket-path P [OPTION...] COMMAND
//
// Commands and what they print (one fact per line, first word a fixed key):
//   features       FEATURES 0x..., PROTOCOL_FEATURES 0x..., QUEUES n
//   input-config   NAME s, SERIAL s, DEVIDS bustype vendor product version (4 hex digits each),
//                  PROP_BITS hex, PROP_CODES c,c,..., and per event type with a non-empty bitmap
//                  EV_BITS type hex and EV_CODES type c,c,... (decimal), then
//                  ABS_INFO axis min max fuzz flat res for every axis in EV_BITS 3
//   input-events   --count N [--timeout-ms T] [--idle-ms I] [--ready-file F]:
//                  READY once the eventq is filled (and F written), then EVENT type code value
//                  per event in arrival order, EVENTS_DONE n; with --idle-ms, fails if more arrive
//   input-led      --code C --value V [--events-ms E]: one EV_LED C V on the statusq;
//                  LED_SENT, LED_USED, EVENT lines for anything the eventq got meanwhile
//   input-relay    [--timeout-ms T] [--ready-file F]: a user-space virtio_input driver over uinput
//                  (InputRelay.cs): RELAY_EVDEV node, READY, FORWARD t c v, STATUS t c v, until SIGTERM
//   rng            --bytes N: RNG_BYTES, RNG_SHA256 hex, RNG_DISTINCT count, RNG_FIRST16 hex
//   blk-rw         --sectors N [--start-sector S]: BLK_CAPACITY, BLK_FLUSH, BLK_OK sha256
// Data commands end with STOPPED (GET_VRING_BASE of each queue).
// Options: --queue-size N (default 64), --timeout-ms T (default 10000),
//          --connect-timeout-ms T (default 10000).
// Exit status: 0 success, 1 failure (one line on stderr and "FAILED reason" on stdout),
// 2 bad arguments.
using System;
using System.IO;
using VirtioLoopback.Tools.Probe;
using VirtioLoopback.VhostUser.Protocol;

const int ExitOk = 0;
const int ExitFailed = 1;
const int ExitUsage = 2;

ProbeOptions o;
try
{
    o = ProbeOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"vhost-user-probe: {e.Message}");
    return ExitUsage;
}

if (o.Help)
{
    Console.WriteLine("usage: vhost-user-probe --socket-path P [--queue-size N] [--timeout-ms T] features|input-config|input-events|input-led|input-relay|rng|blk-rw [...] (see Program.cs)");
    return ExitOk;
}

try
{
    using ProbeSession session = ProbeSession.Open(o.SocketPath, TimeSpan.FromMilliseconds(o.ConnectTimeoutMs));
    switch (o.Command)
    {
        case "features": Commands.Features(session); break;
        case "input-config": Commands.InputConfig(session); break;
        case "input-events": Commands.InputEvents(session, o); break;
        case "input-led": Commands.InputLed(session, o); break;
        case "input-relay": Commands.InputRelay(session, o); break;
        case "rng": Commands.Rng(session, o); break;
        case "blk-rw": Commands.BlkRw(session, o); break;
    }

    return ExitOk;
}
catch (Exception e) when (e is ProbeException or VhostUserException or IOException or TimeoutException or InvalidOperationException)
{
    Console.Out.Flush();
    Console.Error.WriteLine($"vhost-user-probe: {o.Command}: {e.Message}");
    Console.WriteLine($"FAILED {e.Message}");
    return ExitFailed;
}
