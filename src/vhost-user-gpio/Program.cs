// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using VirtioLoopback.Devices.Common;
using VirtioLoopback.Devices.Gpio;
using VirtioLoopback.Hosting;

const string ProgramName = "vhost-user-gpio";
const string ChipOption = "--chip";
const string LinesOption = "--lines";

BackendCommandLine commandLine = new(
    ProgramName,
    "gpio",
    "A vhost-user virtio GPIO device (virtio-gpio) in front of a host GPIO chip, through the GPIO character device (v2): names, directions, values and edge and level interrupts.");
commandLine.AddOption(ChipOption, "The host chip: a path (/dev/gpiochip0), a name (gpiochip0) or its label; or wired:N, a software chip of N lines wired in pairs (line 2k drives 2k+1 and back), for hosts without GPIO hardware.", "CHIP", required: true);
commandLine.AddOption(LinesOption, "Expose only these host lines, as the guest's lines 0, 1, ... in this order: a list of offsets and ranges (0-3,7). Default: every line.", "LIST", validator: v => ParseLines(v, out _));

if (!commandLine.TryParse(args, out ProgramOptions? options, out int exitCode))
{
    return exitCode;
}

List<uint>? lines = null;
if (options.GetValue(LinesOption) is { } list)
{
    ParseLines(list, out lines);
}

GpioLogic logic;
try
{
    logic = GpioLogic.Open(options.GetValue(ChipOption)!, lines);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
{
    Console.Error.WriteLine($"{ProgramName}: {e.Message}");
    return BackendCommandLine.ExitFailure;
}

using (logic)
{
    using SerializedDevice device = new(logic);
    return BackendHost.Run(device, options);
}

// "0-3,7" -> 0 1 2 3 7; null when valid, else the error.
static string? ParseLines(string value, out List<uint> lines)
{
    lines = new List<uint>();
    foreach (string part in value.Split(','))
    {
        int dash = part.IndexOf('-', StringComparison.Ordinal);
        string first = dash < 0 ? part : part[..dash];
        string last = dash < 0 ? part : part[(dash + 1)..];
        if (!uint.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out uint a)
            || !uint.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out uint b) || b < a || b - a >= GpioLogic.MaxLines)
        {
            return $"expected offsets and ranges such as 0-3,7, not '{value}'";
        }

        for (uint i = a; i <= b; i++)
        {
            lines.Add(i);
        }
    }

    return lines.Count > GpioLogic.MaxLines ? $"at most {GpioLogic.MaxLines} lines" : null;
}
