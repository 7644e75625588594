// SPDX-License-Identifier: MIT
using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using VirtioLoopback.Hid.Htt;

namespace VirtioLoopback.Programs.TouchSensitivity;

/// <summary>The tool's output: one line per display, or JSON (<c>--json</c>).</summary>
internal sealed class Output(bool json, TextWriter stdout)
{
    /// <summary>Prints the listed displays with their state.</summary>
    public void List(IReadOnlyList<(DisplayRef Display, SensitivityResult Result)> displays)
    {
        if (!json)
        {
            if (displays.Count == 0)
            {
                stdout.WriteLine("no HTT display found");
            }

            for (int i = 0; i < displays.Count; i++)
            {
                (DisplayRef d, SensitivityResult r) = displays[i];
                stdout.WriteLine($"{i}: {d.Path} ({d.Transport}) {Quote(d.Name)} {StateText(r)}");
            }

            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (Utf8JsonWriter w = new(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("displays");
            for (int i = 0; i < displays.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                WriteFields(w, displays[i].Display, displays[i].Result);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>Prints the result of a get or set.</summary>
    public void Result(DisplayRef display, SensitivityResult result, bool isSet)
    {
        if (!json)
        {
            if (result.Succeeded)
            {
                string path = result.Node?.Path ?? display.Path;
                string suffix = isSet ? $" ({result.Message}{(result.ElapsedMs > 0 ? $", {result.ElapsedMs} ms" : string.Empty)})" : string.Empty;
                stdout.WriteLine($"{path}: {StateText(result)}{suffix}");
            }

            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (Utf8JsonWriter w = new(buffer))
        {
            w.WriteStartObject();
            WriteFields(w, display, result);
            if (isSet)
            {
                w.WriteBoolean("restarted", result.Restarted);
                w.WriteNumber("elapsed_ms", result.ElapsedMs);
            }

            w.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void WriteFields(Utf8JsonWriter w, DisplayRef display, SensitivityResult r)
    {
        w.WriteString("node", r.Node?.Path ?? display.Path);
        w.WriteString("transport", display.Transport);
        w.WriteString("name", display.Name);
        w.WriteString("status", StatusName(r.Status));
        if (r.State is { } s)
        {
            w.WriteString("controller", HttProtocol.Name(s.Controller));
            w.WriteNumber("controller_type", (byte)s.Controller);
            w.WriteString("firmware", HttProtocol.FirmwareText(s.Firmware));
            if (s.Sensitivity is { } level)
            {
                w.WriteString("sensitivity", HttProtocol.Name(level));
            }
            else
            {
                w.WriteNull("sensitivity");
            }

            w.WriteStartArray("supported");
            foreach (SensitivityLevel l in (ReadOnlySpan<SensitivityLevel>)[SensitivityLevel.Normal, SensitivityLevel.High, SensitivityLevel.Extra])
            {
                if (HttProtocol.Supports(s.Controller, l))
                {
                    w.WriteStringValue(HttProtocol.Name(l));
                }
            }

            w.WriteEndArray();
        }

        if (!r.Succeeded)
        {
            w.WriteString("error", r.Message);
        }
    }

    /// <summary>The JSON name of a status.</summary>
    public static string StatusName(SensitivityStatus status) => status switch
    {
        SensitivityStatus.Ok => "ok",
        SensitivityStatus.Unchanged => "unchanged",
        SensitivityStatus.UnsupportedController => "unsupported-controller",
        SensitivityStatus.UnsupportedLevel => "unsupported-level",
        SensitivityStatus.Timeout => "timeout",
        SensitivityStatus.Mismatch => "mismatch",
        SensitivityStatus.NotFound => "not-found",
        SensitivityStatus.Busy => "busy",
        SensitivityStatus.BadRequest => "bad-request",
        _ => "io-error",
    };

    private static string StateText(SensitivityResult r)
    {
        if (r.State is not { } s)
        {
            return $"error: {r.Message}";
        }

        string level = s.Sensitivity is { } l ? HttProtocol.Name(l) : "n/a";
        return $"controller {HttProtocol.Name(s.Controller)} firmware {HttProtocol.FirmwareText(s.Firmware)} sensitivity {level}";
    }

    private static string Quote(string s) => "\"" + s + "\"";
}
