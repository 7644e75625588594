// SPDX-License-Identifier: MIT
using System.Runtime.InteropServices;

namespace VirtioLoopback.Devices.Sound.Alsa;

/// <summary>
/// The part of libasound's PCM API the ALSA endpoints use. Every function returns a negative errno on
/// failure; <c>snd_pcm_uframes_t</c> and <c>snd_pcm_sframes_t</c> are C longs.
/// </summary>
internal static unsafe partial class AlsaNative
{
    public const int StreamPlayback = 0;
    public const int StreamCapture = 1;
    public const int ModeNonBlock = 1;
    public const int AccessRwInterleaved = 3;

    // snd_pcm_state_t.
    public const int StatePrepared = 2;
    public const int StateRunning = 3;
    public const int StateXrun = 4;

    private const string Library = "libasound.so.2";

    [LibraryImport(Library)]
    public static partial int snd_pcm_open(nint* pcm, byte* name, int stream, int mode);

    [LibraryImport(Library)]
    public static partial int snd_pcm_close(nint pcm);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_malloc(nint* parameters);

    [LibraryImport(Library)]
    public static partial void snd_pcm_hw_params_free(nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_any(nint pcm, nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_test_format(nint pcm, nint parameters, int format);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_test_rate(nint pcm, nint parameters, uint rate, int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_channels_min(nint parameters, uint* channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_channels_max(nint parameters, uint* channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_access(nint pcm, nint parameters, int access);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_format(nint pcm, nint parameters, int format);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_channels(nint pcm, nint parameters, uint channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_rate(nint pcm, nint parameters, uint rate, int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_period_size_near(nint pcm, nint parameters, nuint* frames, int* dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_buffer_size_near(nint pcm, nint parameters, nuint* frames);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_period_size(nint parameters, nuint* frames, int* dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params(nint pcm, nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params_malloc(nint* parameters);

    [LibraryImport(Library)]
    public static partial void snd_pcm_sw_params_free(nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params_current(nint pcm, nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params_get_boundary(nint parameters, nuint* boundary);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params_set_start_threshold(nint pcm, nint parameters, nuint frames);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params_set_silence_threshold(nint pcm, nint parameters, nuint frames);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params_set_silence_size(nint pcm, nint parameters, nuint frames);

    [LibraryImport(Library)]
    public static partial int snd_pcm_sw_params(nint pcm, nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_prepare(nint pcm);

    [LibraryImport(Library)]
    public static partial int snd_pcm_start(nint pcm);

    [LibraryImport(Library)]
    public static partial int snd_pcm_drop(nint pcm);

    [LibraryImport(Library)]
    public static partial int snd_pcm_state(nint pcm);

    [LibraryImport(Library)]
    public static partial nint snd_pcm_writei(nint pcm, byte* buffer, nuint frames);

    [LibraryImport(Library)]
    public static partial nint snd_pcm_readi(nint pcm, byte* buffer, nuint frames);

    [LibraryImport(Library)]
    public static partial nint snd_pcm_avail_update(nint pcm);

    [LibraryImport(Library)]
    public static partial int snd_pcm_delay(nint pcm, nint* frames);

    [LibraryImport(Library)]
    public static partial int snd_pcm_recover(nint pcm, int error, int silent);

    [LibraryImport(Library)]
    public static partial byte* snd_strerror(int error);

    /// <summary>
    /// <c>snd_lib_error_set_handler</c>: libasound prints its own errors to stderr unless given a
    /// handler. The handler is variadic in C; a callee that ignores the variable part is safe on the
    /// Linux ABIs (x86-64 SysV, AArch64).
    /// </summary>
    [LibraryImport(Library)]
    public static partial int snd_lib_error_set_handler(delegate* unmanaged<byte*, int, byte*, int, byte*, void> handler);
}
