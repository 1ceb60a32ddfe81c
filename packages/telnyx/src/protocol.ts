/**
 * Telnyx Media Streaming over WebSocket, bidirectional RTP mode.
 *
 * Wire format: https://developers.telnyx.com/api-reference/websockets/stream-call-media-over-websocket
 * (AsyncAPI spec) and https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming.
 * Frames are snake_case JSON; `stream_id` sits at the top level; media payloads are base64 RTP
 * payloads without the RTP header; media frames may arrive out of order.
 */
import {
  ConfigError,
  ProtocolError,
  base64Encode,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  pcm16FromBytes,
  pcm16ToBytes,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
  swapBytes16,
} from '@switchboard/core';
import {
  FrameParse,
  type StreamCommandWriters,
  isJsonObject,
  readCounter,
  stringRecord,
  type JsonObject,
  assertTextFrame,
  callStartEvent,
  decodeDtmfFrame,
  decodeMarkFrame,
  decodeMediaPayload,
  decodeStopFrame,
  encodeStreamCommand,
  readFrameEvent,
  readFrameObject,
  readStartObject,
  readStartStreamId,
} from '@switchboard/core/protocol';

const PROVIDER = 'telnyx';

/** Codecs of a bidirectional RTP stream that the bridge can carry. */
export type TelnyxCodec = 'PCMU' | 'PCMA' | 'L16';

/** Byte order of L16 payloads on the wire. */
export type L16ByteOrder = 'big-endian' | 'little-endian';

export type TelnyxMediaStreamProtocolOptions = {
  /**
   * The `stream_bidirectional_codec` the stream was started with: the codec Telnyx expects back.
   * Default `PCMU`, Telnyx's own default. The caller's audio arrives in the codec of
   * `start.media_format` whatever this says (an EU trunk may send PCMA). When the caller's law and
   * this one differ, the call is bridged as 16-bit PCM at 8 kHz: the caller's G.711 is expanded
   * (exactly) to PCM, the model speaks PCM, and the reply is encoded into this law from PCM, never
   * converted from the other law (a μ-law → A-law tandem costs about 4 dB of SNR). L16 in needs L16
   * out, at the same sampling rate (`stream_bidirectional_sampling_rate`).
   */
  bidirectionalCodec?: TelnyxCodec;
  /**
   * Byte order of L16 payloads. Default `big-endian`: RTP's L16 is in network byte order
   * (RFC 3551, section 4.5.11) and Telnyx sends RTP payloads as they are. Telnyx's documentation
   * does not state the byte order itself, hence the option.
   */
  l16ByteOrder?: L16ByteOrder;
  /**
   * Fill gaps in `media.timestamp` with silence, reading the timestamp as milliseconds since the
   * stream started (the unit Twilio-style envelopes use). Default false: Telnyx documents the
   * field only as an ordering key, so by default frames are ordered by `media.chunk` alone.
   */
  useMediaTimestamps?: boolean;
};

const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
/**
 * Sampling rates of L16 streams: the values of `stream_bidirectional_sampling_rate` in Telnyx's
 * API (the `telnyx` SDK's `StreamBidirectionalSamplingRate`).
 */
const L16_RATES = new Set([8000, 16000, 22050, 24000, 48000]);
/** Codecs Telnyx can stream that the bridge cannot: named so the error says so plainly. */
const UNSUPPORTED_CODECS = new Set(['G722', 'OPUS', 'AMR-WB', 'AMRWB', 'AMR_WB', 'G729', 'MP3']);

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

function isG711(encoding: AudioFormat['encoding']): boolean {
  return encoding === 'pcmu' || encoding === 'pcma';
}

/** `PCMU`/`PCMA`/`L16` (any case; `audio/x-mulaw` style names too) as an encoding, else undefined. */
export function telnyxEncoding(name: string): AudioFormat['encoding'] | undefined {
  const n = name.split(';', 1)[0]!.trim().toUpperCase();
  if (n === 'PCMU' || n === 'AUDIO/X-MULAW' || n === 'MULAW' || n === 'ULAW' || n === 'AUDIO/PCMU') return 'pcmu';
  if (n === 'PCMA' || n === 'AUDIO/X-ALAW' || n === 'ALAW' || n === 'AUDIO/PCMA') return 'pcma';
  if (n === 'L16' || n === 'AUDIO/L16' || n === 'AUDIO/X-L16' || n === 'LINEAR16') return 'l16';
  return undefined;
}

/** The Telnyx codec name of an encoding. */
export function telnyxCodecName(encoding: AudioFormat['encoding']): TelnyxCodec {
  return encoding === 'pcmu' ? 'PCMU' : encoding === 'pcma' ? 'PCMA' : 'L16';
}

/** Maps `start.media_format` to an {@link AudioFormat}; throws on codecs the bridge cannot carry. */
function readMediaFormat(value: unknown, frame: string): AudioFormat {
  if (value === undefined || value === null) return { ...MULAW_8K };
  if (!isJsonObject(value)) fail('start.media_format is not an object', frame);
  const rawEncoding = value['encoding'];
  if (rawEncoding !== undefined && typeof rawEncoding !== 'string')
    fail('start.media_format.encoding is not a string', frame);
  const name = (rawEncoding ?? 'PCMU').trim();
  const encoding = telnyxEncoding(name);
  if (encoding === undefined) {
    const upper = name.toUpperCase();
    const shown = JSON.stringify(name.slice(0, 40));
    if (UNSUPPORTED_CODECS.has(upper)) {
      fail(
        `codec ${shown} is not supported: stream PCMU, PCMA or L16 (set stream_codec and stream_bidirectional_codec accordingly)`,
        frame,
        'telnyx_unsupported_codec',
      );
    }
    fail(`unknown start.media_format.encoding ${shown}`, frame, 'telnyx_unsupported_codec');
  }

  const channels = value['channels'];
  if (channels !== undefined && readCounter(channels) !== 1)
    fail('start.media_format.channels must be 1 (telephony audio is mono)', frame);

  const rawRate = value['sample_rate'];
  const sampleRate = rawRate === undefined ? undefined : readCounter(rawRate);
  if (rawRate !== undefined && sampleRate === undefined)
    fail('start.media_format.sample_rate is not an integer', frame);
  if (encoding === 'l16') {
    if (sampleRate === undefined || !L16_RATES.has(sampleRate)) {
      fail(
        'L16 streams need start.media_format.sample_rate 8000, 16000, 22050, 24000 or 48000',
        frame,
        'telnyx_unsupported_codec',
      );
    }
    return { encoding, sampleRate, channels: 1 };
  }
  if (sampleRate !== undefined && sampleRate !== 8000) {
    fail(
      `G.711 streams must be 8000 Hz, start.media_format.sample_rate is ${sampleRate}`,
      frame,
      'telnyx_unsupported_codec',
    );
  }
  return { encoding, sampleRate: 8000, channels: 1 };
}

/**
 * Telnyx Media Streaming (`stream_bidirectional_mode: "rtp"`).
 *
 * Pure: the state is the active stream id, the codec pair of the stream and a one-entry cache of
 * the last parsed frame (so the raw `telnyx_message` event does not parse the same JSON twice).
 * Media frames carry their `media.chunk` as `sequence`, so the core puts out-of-order frames back
 * in order.
 */
export class TelnyxMediaStreamProtocol implements MediaStreamProtocol {
  readonly name = 'telnyx';
  readonly capabilities: ProtocolCapabilities = {
    playbackAck: 'mark',
    // A clear returns the queued marks; a mark sent while nothing is queued comes back at once.
    ackOnClear: 'echo-pending',
    clear: true,
    dtmfIn: true,
    // DTMF goes out through Call Control (`TelnyxCallControl.sendDtmf`), not the media stream.
    dtmfOut: false,
    // RTP chunks sent back may hold 20 ms to 30 s of audio: whole 20 ms frames keep to that.
    frame: { ms: 20 },
  };
  readonly defaultFormat: AudioFormat = { ...MULAW_8K };

  readonly #bidirectional: AudioFormat['encoding'];
  readonly #bigEndian: boolean;
  readonly #useTimestamps: boolean;
  #streamId: string | undefined;
  /** The call's format as the core sees it, once a `start` was decoded. */
  #format: AudioFormat = { ...MULAW_8K };
  /**
   * The caller's G.711 law when it is not the law Telnyx expects back: the core then sees 16-bit
   * PCM at 8 kHz, which the protocol expands from this law on the way in and encodes into the
   * bidirectional law on the way out.
   */
  #crossLaw: 'pcmu' | 'pcma' | undefined;
  readonly #parses = new FrameParse();
  readonly #writers: StreamCommandWriters = {
    audio: (payload) => `{"event":"media","media":{"payload":"${base64Encode(this.#toWire(payload))}"}}`,
    mark: (name) => `{"event":"mark","mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => '{"event":"clear"}',
    // Neither hang-up nor DTMF exists on the media stream: both go through TelnyxCallControl.
  };

  constructor(options: TelnyxMediaStreamProtocolOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new ConfigError('TelnyxMediaStreamProtocol: options must be an object');
    const codec = options.bidirectionalCodec ?? 'PCMU';
    const encoding = typeof codec === 'string' && /^(PCMU|PCMA|L16)$/i.test(codec) ? telnyxEncoding(codec) : undefined;
    if (encoding === undefined) {
      throw new ConfigError(
        `TelnyxMediaStreamProtocol: bidirectionalCodec must be PCMU, PCMA or L16, got ${JSON.stringify(codec)}`,
      );
    }
    const order = options.l16ByteOrder ?? 'big-endian';
    if (order !== 'big-endian' && order !== 'little-endian') {
      throw new ConfigError(
        `TelnyxMediaStreamProtocol: l16ByteOrder must be 'big-endian' or 'little-endian', got ${JSON.stringify(order)}`,
      );
    }
    this.#bidirectional = encoding;
    this.#bigEndian = order === 'big-endian';
    this.#useTimestamps = options.useMediaTimestamps === true;
  }

  /** The id of the active stream, once a `start` has been decoded. */
  get streamId(): string | undefined {
    return this.#streamId;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    assertTextFrame(frame, fail, 'received a binary frame; Telnyx media streams send JSON text frames');
    const message = readFrameObject(frame, fail, this.#parses);
    switch (readFrameEvent(message, frame, fail)) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'mark':
        return [decodeMarkFrame(message, frame, fail)];
      case 'dtmf':
        return [decodeDtmfFrame(message, frame, fail, { digits: 'any', duration: false })];
      case 'stop':
        return [decodeStopFrame(message)];
      case 'error':
        return this.#decodeError(message, frame);
      case 'connected':
        return [];
      default:
        // Frame types Telnyx may add later are not errors.
        return [];
    }
  }

  rawMessage(frame: string | Uint8Array): unknown {
    return this.#parses.rawMessage(frame);
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    return encodeStreamCommand(command, this.#writers);
  }

  /** Core audio (the call's format; L16 is little-endian) as the payload Telnyx expects back. */
  #toWire(payload: Uint8Array): Uint8Array {
    if (this.#crossLaw !== undefined) {
      // PCM from the core, encoded into the law Telnyx plays back (stream_bidirectional_codec).
      const samples = pcm16FromBytes(
        payload.byteLength % 2 === 0 ? payload : payload.subarray(0, payload.byteLength - 1),
      );
      return this.#bidirectional === 'pcma' ? encodeALaw(samples) : encodeMuLaw(samples);
    }
    if (this.#format.encoding === 'l16') return this.#bigEndian ? swapBytes16(payload) : payload;
    return payload;
  }

  /** The caller's audio as the core expects it: L16 little-endian, or G.711 as received. */
  #fromWire(bytes: Uint8Array, payload: string): Extract<CallEvent, { type: 'audio' }> {
    if (this.#crossLaw !== undefined) {
      const samples = this.#crossLaw === 'pcma' ? decodeALaw(bytes) : decodeMuLaw(bytes);
      return { type: 'audio', payload: pcm16ToBytes(samples) };
    }
    if (this.#format.encoding === 'l16' && this.#bigEndian) return { type: 'audio', payload: swapBytes16(bytes) };
    return { type: 'audio', payload: bytes, payloadBase64: payload };
  }

  #decodeStart(message: JsonObject, frame: string): CallEvent {
    const start = readStartObject(message, frame, fail);
    const streamId = readStartStreamId(message['stream_id'] ?? start['stream_id'], 'stream_id', frame, fail);

    const format = readMediaFormat(start['media_format'], frame);
    const inL16 = format.encoding === 'l16';
    const outL16 = this.#bidirectional === 'l16';
    if (inL16 !== outL16) {
      fail(
        `the caller's audio is ${telnyxCodecName(format.encoding)} but the bridge was told stream_bidirectional_codec ` +
          `${telnyxCodecName(this.#bidirectional)}; L16 needs L16 both ways (pass bidirectionalCodec)`,
        frame,
        'telnyx_unsupported_codec',
      );
    }

    // G.711 one way and the other law back: bridged as PCM, so the reply is encoded from PCM.
    const crossLaw =
      isG711(format.encoding) && format.encoding !== this.#bidirectional
        ? (format.encoding as 'pcmu' | 'pcma')
        : undefined;
    const coreFormat: AudioFormat =
      crossLaw === undefined ? format : { encoding: 'l16', sampleRate: 8000, channels: 1 };

    const event = callStartEvent({
      streamId,
      format: coreFormat,
      customParameters: stringRecord(start['custom_parameters']),
      raw: message,
      callId: start['call_control_id'],
      from: start['from'],
      to: start['to'],
    });

    this.#streamId = streamId;
    this.#format = coreFormat;
    this.#crossLaw = crossLaw;
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const media = message['media'];
    if (!isJsonObject(media)) fail('media frame without a media object', frame);
    // Only the caller's track is caller audio (`stream_track: both_tracks` also sends ours).
    const track = media['track'];
    if (track === 'outbound' || track === 'outbound_track') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media frame without a string media.payload', frame);
    const bytes = decodeMediaPayload(payload, frame, fail);
    if (this.#format.encoding === 'l16' && this.#crossLaw === undefined && bytes.byteLength % 2 !== 0) {
      fail(`L16 media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    }
    const audio = this.#fromWire(bytes, payload);
    // `media.chunk` counts media frames: the core reorders by it.
    const sequence = readCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    if (this.#useTimestamps) {
      const timestampMs = readCounter(media['timestamp']);
      if (timestampMs !== undefined) audio.timestampMs = timestampMs;
    }
    return [audio];
  }

  /** Telnyx reports a problem (often with a frame the bridge sent): an `error` event, not the end of the call. */
  #decodeError(message: JsonObject, frame: string): never {
    const payload = isJsonObject(message['payload'])
      ? message['payload']
      : isJsonObject(message['error'])
        ? message['error']
        : {};
    const code = payload['code'];
    const title = typeof payload['title'] === 'string' ? payload['title'].slice(0, 120) : '';
    const detail = typeof payload['detail'] === 'string' ? payload['detail'].slice(0, 200) : '';
    const codeText = typeof code === 'number' || typeof code === 'string' ? ` ${String(code).slice(0, 20)}` : '';
    const text = [title, detail].filter(Boolean).join(': ');
    fail(`Telnyx reported error${codeText}${text ? `: ${text}` : ''}`, frame, 'telnyx_stream_error');
  }
}
