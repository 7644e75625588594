// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.IO;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Console;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-console";
const string PortOption = "--port";

BackendCommandLine commandLine = new(
    ProgramName,
    "console",
    "A vhost-user virtio console with multiport (virtio-console): each port is a console (/dev/hvcN) or a named serial port (/dev/vportNpM) whose host side is a unix socket, a pty or a file.");
commandLine.AddOption(
    PortOption,
    "One port, in order from port 0; repeat it for more (up to 16). SPEC is KIND,ENDPOINT[,name=NAME][,size=COLSxROWS]: KIND console or serial, ENDPOINT socket=PATH, pty, pty=LINK or file=PATH.",
    "SPEC");

// --port may be repeated; the shared parser takes each option once, so the ports are taken out first.
List<string> rest = new(args.Length);
List<string> portValues = new();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == PortOption && i + 1 < args.Length)
    {
        portValues.Add(args[++i]);
    }
    else if (args[i].StartsWith(PortOption + "=", StringComparison.Ordinal))
    {
        portValues.Add(args[i][(PortOption.Length + 1)..]);
    }
    else
    {
        rest.Add(args[i]);
    }
}

if (!commandLine.TryParse(rest.ToArray(), out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

if (portValues.Count == 0)
{
    return Fail($"{PortOption} is required (see --help)");
}

if (portValues.Count > ConsoleLogic.MaxPorts)
{
    return Fail($"{PortOption}: at most {ConsoleLogic.MaxPorts} ports, not {portValues.Count}");
}

List<PortSpec> specs = new(portValues.Count);
foreach (string value in portValues)
{
    PortSpec? spec = PortSpec.Parse(value, out string? error);
    if (spec is null)
    {
        return Fail($"{PortOption} '{value}': {error}");
    }

    specs.Add(spec);
}

ConsoleLogic logic;
try
{
    logic = ConsoleLogic.Create(specs);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
{
    return Fail($"{PortOption}: {e.Message}");
}

using (logic)
{
    using SerializedDevice device = new(logic);
    return BackendHost.Run(device, options);
}

static int Fail(string message)
{
    Console.Error.WriteLine($"{ProgramName}: {message}");
    return BackendCommandLine.ExitFailure;
}
