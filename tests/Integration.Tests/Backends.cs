// SPDX-License-Identifier: MIT
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtioLoopback.VhostUser.Backend;

namespace VirtioLoopback.Tests;

/// <summary>A running back end listening on a unix socket: in this process or a child process.</summary>
internal interface IBackend : IDisposable
{
    /// <summary>The socket the back end listens on.</summary>
    string SocketPath { get; }

    /// <summary>Whether it is still serving (the process runs, or the server thread has not ended or failed).</summary>
    bool IsAlive { get; }

    /// <summary>A description for failure messages: how it ended and what it logged last.</summary>
    string Describe();
}

/// <summary>
/// A back-end program as a child process. Its stderr (the journal-style log) is kept in a bounded
/// tail for failure messages; disposal sends SIGTERM and, if that does not end it, SIGKILL.
/// </summary>
internal sealed class ProcessBackend : IBackend
{
    private const int TailLines = 80;

    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly Lock _tailLock = new();
    private readonly string _commandLine;
    private bool _disposed;

    private ProcessBackend(Process process, string socketPath, string commandLine)
    {
        _process = process;
        SocketPath = socketPath;
        _commandLine = commandLine;
    }

    public string SocketPath { get; }

    public int Pid => _process.Id;

    public bool IsAlive => !_process.HasExited;

    /// <summary>The exit code once the process has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>
    /// Starts <paramref name="program"/> with <c>--socket-path <paramref name="socketPath"/></c> and
    /// <paramref name="args"/>, and waits until it accepts connections on the socket.
    /// </summary>
    public static ProcessBackend Start(string program, string socketPath, params string[] args)
    {
        List<string> all = ["--socket-path", socketPath, .. args];
        return Launch(BackendPrograms.StartInfo(program, all), socketPath, $"{BackendPrograms.Resolve(program).Kind} {program} {string.Join(' ', all)}");
    }

    /// <summary>
    /// <see cref="Start"/> under <c>nohup</c>: the program inherits SIGHUP as ignored, as from a
    /// parent that detached it from a terminal.
    /// </summary>
    public static ProcessBackend StartIgnoringHangUp(string program, string socketPath, params string[] args)
    {
        List<string> all = ["--socket-path", socketPath, .. args];
        ProcessStartInfo info = BackendPrograms.StartInfo(program, all);
        info.ArgumentList.Insert(0, info.FileName);
        info.FileName = "nohup";
        return Launch(info, socketPath, $"nohup {program} {string.Join(' ', all)}");
    }

    /// <summary>Starts <paramref name="info"/>, collects its output and waits until it listens.</summary>
    private static ProcessBackend Launch(ProcessStartInfo info, string socketPath, string commandLine)
    {
        Process process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {commandLine}.");
        var backend = new ProcessBackend(process, socketPath, commandLine);
        process.ErrorDataReceived += (_, e) => backend.AddLine(e.Data);
        process.OutputDataReceived += (_, e) => backend.AddLine(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        backend.WaitListening(TimeSpan.FromSeconds(60));
        return backend;
    }

    /// <summary>Sends <paramref name="signal"/> to the process.</summary>
    public void Signal(int signal)
    {
        if (Native.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>SIGKILL, then waits for the process to be gone.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            Signal(Native.SIGKILL);
        }

        _process.WaitForExit();
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public string Describe()
    {
        StringBuilder sb = new();
        sb.Append(_commandLine).Append(" (pid ").Append(_process.Id).Append("): ");
        sb.Append(_process.HasExited ? $"exited with {DescribeExit(_process.ExitCode)}" : "running");
        lock (_tailLock)
        {
            sb.Append("\n--- last ").Append(_tail.Count).Append(" lines of its output ---\n");
            foreach (string line in _tail)
            {
                sb.Append(line).Append('\n');
            }
        }

        return sb.ToString();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                // A stopped process does not act on SIGTERM until continued.
                Native.Kill(_process.Id, Native.SIGCONT);
                Native.Kill(_process.Id, Native.SIGTERM);
                if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    Native.Kill(_process.Id, Native.SIGKILL);
                }
            }

            _process.WaitForExit();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static string DescribeExit(int code) => code > 128 ? $"{code} (signal {code - 128})" : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void AddLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tailLock)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }

    private void WaitListening(TimeSpan timeout)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The back end exited before listening: {Describe()}");
            }

            if (IsListening(SocketPath))
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The back end did not listen on {SocketPath} within {timeout}: {Describe()}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Whether something listens on <paramref name="path"/> (a stale socket file from a killed
    /// process refuses connections). The probe connection is closed at once; the back end sees a
    /// front end that connects and leaves.
    /// </summary>
    private static bool IsListening(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using Sys.UnixSocket probe = Sys.UnixSocket.Connect(path);
            return true;
        }
        catch (Sys.SysException)
        {
            return false;
        }
    }
}

/// <summary>
/// A <see cref="BackendServer"/> in this process on a background thread: needed when the test
/// must hold the device (the input device's fake evdev node), and cheaper than a process.
/// </summary>
internal sealed class InProcessBackend : IBackend
{
    private readonly BackendServer _server;
    private readonly Thread _thread;
    private readonly IVirtioDevice _device;
    private readonly bool _ownsDevice;
    private volatile Exception? _failure;
    private volatile bool _returned;
    private bool _disposed;

    public InProcessBackend(IVirtioDevice device, string socketPath, ILoggerFactory? loggerFactory = null, bool ownsDevice = true)
    {
        _device = device;
        _ownsDevice = ownsDevice;
        SocketPath = socketPath;
        _server = new BackendServer(device, new BackendOptions { SocketPath = socketPath }, loggerFactory ?? NullLoggerFactory.Instance);
        _thread = new Thread(Run) { IsBackground = true, Name = "in-process-backend" };
        _thread.Start();
        Stopwatch clock = Stopwatch.StartNew();
        while (!File.Exists(socketPath))
        {
            if (!_thread.IsAlive || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"The in-process back end did not listen: {Describe()}");
            }

            Thread.Sleep(5);
        }
    }

    public string SocketPath { get; }

    public bool IsAlive => _thread.IsAlive && _failure is null && !_returned;

    public string Describe() =>
        _failure is not null ? $"in-process back end failed: {_failure}"
        : _returned ? "in-process back end: Serve() returned"
        : "in-process back end running";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _server.RequestShutdown();
        if (!_thread.Join(TimeSpan.FromSeconds(20)))
        {
            throw new TimeoutException("The in-process back end did not shut down within 20 s.");
        }

        _server.Dispose();
        if (_ownsDevice && _device is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private void Run()
    {
        try
        {
            _server.Serve();
        }
        catch (Exception e)
        {
            _failure = e;
        }
        finally
        {
            _returned = true;
        }
    }
}
