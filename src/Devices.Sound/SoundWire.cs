// SPDX-License-Identifier: MIT
namespace VirtioLoopback.Devices.Sound;

/// <summary>The virtio-snd wire format (virtio 1.2 §5.14): queues, request codes, statuses, sizes.</summary>
internal static class SoundWire
{
    public const int ControlQueue = 0;
    public const int EventQueue = 1;
    public const int TxQueue = 2;
    public const int RxQueue = 3;
    public const int QueueCount = 4;

    /// <summary><c>struct virtio_snd_config</c> without controls: jacks, streams, chmaps.</summary>
    public const int ConfigSize = 12;

    // Request codes.
    public const uint JackInfo = 1;
    public const uint JackRemap = 2;
    public const uint PcmInfo = 0x0100;
    public const uint PcmSetParams = 0x0101;
    public const uint PcmPrepare = 0x0102;
    public const uint PcmRelease = 0x0103;
    public const uint PcmStart = 0x0104;
    public const uint PcmStop = 0x0105;
    public const uint ChmapInfo = 0x0200;

    // Status codes.
    public const uint StatusOk = 0x8000;
    public const uint StatusBadMsg = 0x8001;
    public const uint StatusNotSupported = 0x8002;
    public const uint StatusIoError = 0x8003;

    /// <summary><c>struct virtio_snd_hdr</c>.</summary>
    public const int HeaderSize = 4;

    /// <summary><c>struct virtio_snd_query_info</c>: code, start_id, count, size.</summary>
    public const int QueryInfoSize = 16;

    /// <summary><c>struct virtio_snd_pcm_hdr</c>: code, stream_id.</summary>
    public const int PcmHeaderSize = 8;

    /// <summary><c>struct virtio_snd_pcm_set_params</c>.</summary>
    public const int SetParamsSize = 24;

    /// <summary><c>struct virtio_snd_pcm_info</c>.</summary>
    public const int PcmInfoSize = 32;

    /// <summary><c>struct virtio_snd_jack_info</c>.</summary>
    public const int JackInfoSize = 24;

    /// <summary><c>struct virtio_snd_chmap_info</c>.</summary>
    public const int ChmapInfoSize = 24;

    /// <summary>Positions in a <c>struct virtio_snd_chmap_info</c>.</summary>
    public const int ChmapMaxPositions = 18;

    /// <summary><c>struct virtio_snd_pcm_xfer</c>: stream_id.</summary>
    public const int XferSize = 4;

    /// <summary><c>struct virtio_snd_pcm_status</c>: status, latency_bytes.</summary>
    public const int PcmStatusSize = 8;

    /// <summary>The largest response a control request may ask for (an info query of many items).</summary>
    public const int MaxResponseSize = 4096;

    public const byte DirectionOutput = 0;
    public const byte DirectionInput = 1;

    // Channel positions (VIRTIO_SND_CHMAP_*).
    public const byte ChmapMono = 2;
    public const byte ChmapFrontLeft = 3;
    public const byte ChmapFrontRight = 4;

    /// <summary>The one function node every stream, jack and map belongs to: one card, one PCM device.</summary>
    public const uint FunctionNode = 0;
}
