/**
 * Exotel Voicebot applet (AgentStream, bidirectional).
 *
 * Wire format: https://developer.exotel.com/docs/agentstream/stream-voicebot-applet and
 * https://developer.exotel.com/docs/agentstream/websocket-protocol. Audio is raw slin: 16-bit
 * little-endian mono PCM at 8 kHz (16 or 24 kHz with `?sample-rate=`), base64 in JSON. Audio sent
 * back must come in chunks of at least 3.2 KB, at most 100 KB, and a multiple of 320 bytes;
 * other sizes play with gaps.
 *
 * μ-law: ExoML's `<Stream>` documents `audio/x-mulaw;rate=8000` as its default content type, and
 * the extension guide (https://developer.exotel.com/docs/agentstream/stream-voicebot-extension,
 * "Media Format") offers `audio/x-mulaw;rate=8000` next to `audio/L16;rate=8000|16000`. A stream
 * whose `start` names μ-law is read as G.711 μ-law 8 kHz, both ways. The chunk rules are written
 * for slin only; the same byte rules are kept for μ-law, which also meets their reading in time
 * (3200 bytes are 400 ms, at least the 100 ms asked; 320 bytes are two whole 20 ms packets).
 */
import {
  ProtocolError,
  base64Encode,
  type AudioFormat,
  type CallEvent,
  type FrameRules,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import {
  FrameParse,
  type StreamCommandWriters,
  isJsonObject,
  readCounter,
  stringRecord,
  type JsonObject,
  ActiveStreamId,
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

const PROVIDER = 'exotel';

/** Exotel's chunk rules for audio sent back: ≥ 3.2 KB, ≤ 100 KB, a multiple of 320 bytes. */
export const EXOTEL_FRAME_RULES: Readonly<Required<Pick<FrameRules, 'minBytes' | 'maxBytes' | 'multipleOf'>>> =
  Object.freeze({
    minBytes: 3200,
    maxBytes: 100_000,
    multipleOf: 320,
  });

const SLIN_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const RATES = new Set([8000, 16000, 24000]);
/** Names of G.711 μ-law: ExoML's `audio/x-mulaw` and the usual others. */
const MULAW_NAMES = new Set([
  'audio/x-mulaw',
  'audio/mulaw',
  'audio/basic',
  'mulaw',
  'ulaw',
  'mu-law',
  'audio/pcmu',
  'pcmu',
  'g711_ulaw',
  'g711u',
]);
/**
 * Names Exotel and its docs use for raw 16-bit PCM. `base64` is what many live Voicebot streams
 * send (`{"encoding":"base64","sample_rate":"8000","bit_rate":"128kbps"}`): it names the payload's
 * transport encoding, the audio being slin all the same.
 */
const SLIN_NAMES = new Set([
  'audio/x-raw',
  'raw/slin',
  'slin',
  'slin16',
  'audio/l16',
  'audio/x-l16',
  'l16',
  'pcm',
  'audio/pcm',
  'raw',
  'base64',
]);

/** `8000`, `"8000"`, `"8kHz"`, `"16 khz"` → Hz; anything else `undefined`. */
function readSampleRate(value: unknown): number | undefined {
  const plain = readCounter(value);
  if (plain !== undefined) return plain;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d{1,3})\s*khz\s*$/i.exec(value);
  return match ? Number(match[1]) * 1000 : undefined;
}

/**
 * Reads `bit_rate`. Exotel writes either the sample width (`"16"`, `"8"`) or the stream's bit
 * rate (`"128kbps"`: 16-bit samples at 8 kHz; `"64kbps"`: 8-bit μ-law at 8 kHz). A width is a
 * statement about the samples; a bit rate is taken as a hint only, used where the encoding does
 * not name the codec, and never refuses a stream (one that does not fit the rate is passed over).
 */
function readBitRate(value: unknown, sampleRate: number, frame: string): { width?: number; hintedWidth?: number } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string' && typeof value !== 'number')
    fail('start.media_format.bit_rate is not a string or a number', frame);
  const rate = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([km]?)bps\s*$/i.exec(value) : null;
  let bitsPerSecond: number;
  if (rate) {
    const unit = rate[2]!.toLowerCase();
    bitsPerSecond = Number(rate[1]) * (unit === 'k' ? 1000 : unit === 'm' ? 1_000_000 : 1);
  } else {
    const bits = readCounter(typeof value === 'string' ? value.trim() : value);
    if (bits === undefined) fail('start.media_format.bit_rate is neither a sample width nor a bit rate', frame);
    // Small values are bits per sample; large ones a bit rate in bit/s or kbit/s.
    if (bits <= 64) return { width: bits };
    bitsPerSecond = bits >= 1000 ? bits : bits * 1000;
  }
  const perSample = bitsPerSecond / sampleRate;
  return Number.isInteger(perSample) ? { hintedWidth: perSample } : {};
}

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/**
 * Maps `start.media_format` to an {@link AudioFormat}: slin at 8, 16 or 24 kHz, or μ-law at
 * 8 kHz. The encoding may carry its rate (`audio/x-mulaw;rate=8000`); where it names neither
 * (`"base64"`, the payload's transport encoding, as live streams send it), a bit rate of 8 bits a
 * sample says μ-law.
 */
function readMediaFormat(value: unknown, frame: string): AudioFormat {
  if (value === undefined || value === null) return { ...SLIN_8K };
  if (!isJsonObject(value)) fail('start.media_format is not an object', frame);
  const rawEncoding = value['encoding'];
  if (rawEncoding !== undefined && typeof rawEncoding !== 'string')
    fail('start.media_format.encoding is not a string', frame);
  let codec: 'slin' | 'mulaw' | undefined;
  let encodingRate: number | undefined;
  if (rawEncoding !== undefined) {
    const [type, ...params] = rawEncoding.split(';').map((part) => part.trim().toLowerCase());
    const name = type!;
    if (MULAW_NAMES.has(name)) codec = 'mulaw';
    else if (SLIN_NAMES.has(name)) codec = name === 'base64' ? undefined : 'slin';
    else {
      fail(
        `codec ${JSON.stringify(rawEncoding.slice(0, 40))} is not supported: the Voicebot applet streams raw slin (16-bit PCM) or μ-law`,
        frame,
        'exotel_unsupported_format',
      );
    }
    const rateParam = params.find((param) => param.startsWith('rate='));
    if (rateParam !== undefined) {
      encodingRate = readSampleRate(rateParam.slice(5));
      if (encodingRate === undefined) fail('the rate in start.media_format.encoding is not an integer', frame);
    }
  }
  const rawRate = value['sample_rate'];
  const sampleRate = rawRate === undefined || rawRate === null ? (encodingRate ?? 8000) : readSampleRate(rawRate);
  if (sampleRate === undefined) fail('start.media_format.sample_rate is not an integer', frame);
  if (!RATES.has(sampleRate))
    fail(`sample_rate ${sampleRate} is not supported: 8000, 16000 or 24000`, frame, 'exotel_unsupported_format');
  const { width, hintedWidth } = readBitRate(value['bit_rate'], sampleRate, frame);
  // A name that says nothing of the codec (`base64`): 8 bits a sample at 8 kHz is μ-law.
  if (codec === undefined) codec = (width ?? hintedWidth) === 8 && sampleRate === 8000 ? 'mulaw' : 'slin';
  if (codec === 'mulaw') {
    if (sampleRate !== 8000)
      fail(
        `μ-law at ${sampleRate} Hz is not supported: Exotel streams μ-law at 8000 Hz`,
        frame,
        'exotel_unsupported_format',
      );
    if (width !== undefined && width !== 8)
      fail('start.media_format.bit_rate must be 8 for μ-law (8-bit samples)', frame, 'exotel_unsupported_format');
    return { ...MULAW_8K };
  }
  if (width !== undefined && width !== 16)
    fail('start.media_format.bit_rate must be 16 (slin is 16-bit PCM)', frame, 'exotel_unsupported_format');
  return { encoding: 'l16', sampleRate, channels: 1 };
}

/**
 * The Exotel Voicebot protocol. Pure: the state is the active `stream_sid` (needed on every
 * outbound frame), its codec (slin media must be whole 16-bit samples, μ-law any length) and a
 * one-entry cache of the last parsed frame for the raw `exotel_message` event. Media frames carry `media.chunk` as
 * `sequence`. The chunk rules are declared in
 * `capabilities.frame`, so the core's framer cuts the model's audio to them.
 */
export class ExotelMediaStreamProtocol implements MediaStreamProtocol {
  readonly name = 'exotel';
  readonly capabilities: ProtocolCapabilities = {
    playbackAck: 'mark',
    ackOnClear: 'echo-pending',
    clear: true,
    dtmfIn: true,
    dtmfOut: false,
    frame: { ...EXOTEL_FRAME_RULES },
  };
  readonly defaultFormat: AudioFormat = { ...SLIN_8K };

  readonly #stream = new ActiveStreamId(PROVIDER, 'stream_sid');
  #encoding: AudioFormat['encoding'] = 'l16';
  readonly #parses = new FrameParse();
  readonly #writers: StreamCommandWriters = {
    audio: (payload) =>
      `{"event":"media","stream_sid":${this.#stream.json('media')},"media":{"payload":"${base64Encode(payload)}"}}`,
    mark: (name) =>
      `{"event":"mark","stream_sid":${this.#stream.json('mark')},"mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => `{"event":"clear","stream_sid":${this.#stream.json('clear')}}`,
    // No DTMF out, and no hang-up: closing the socket ends the applet (the flow goes on to the next one).
  };

  /** The `stream_sid` of the active stream, once a `start` has been decoded. */
  get streamSid(): string | undefined {
    return this.#stream.id;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    assertTextFrame(frame, fail, 'received a binary frame; Exotel streams send JSON text frames');
    const message = readFrameObject(frame, fail, this.#parses);
    switch (readFrameEvent(message, frame, fail)) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'mark':
        return [decodeMarkFrame(message, frame, fail)];
      case 'dtmf':
        return [decodeDtmfFrame(message, frame, fail, { digits: 'keypad', duration: true })];
      case 'stop':
        return [decodeStopFrame(message, { readReason: true })];
      case 'connected':
      case 'clear':
        return [];
      default:
        return [];
    }
  }

  rawMessage(frame: string | Uint8Array): unknown {
    return this.#parses.rawMessage(frame);
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    return encodeStreamCommand(command, this.#writers);
  }

  #decodeStart(message: JsonObject, frame: string): CallEvent {
    const start = readStartObject(message, frame, fail);
    const streamSid = readStartStreamId(start['stream_sid'] ?? message['stream_sid'], 'stream_sid', frame, fail);
    const event = callStartEvent({
      streamId: streamSid,
      format: readMediaFormat(start['media_format'], frame),
      customParameters: stringRecord(start['custom_parameters']),
      raw: message,
      callId: start['call_sid'],
      from: start['from'],
      to: start['to'],
    });
    this.#stream.set(streamSid);
    this.#encoding = event.format.encoding;
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const media = message['media'];
    if (!isJsonObject(media)) fail('media frame without a media object', frame);
    if (media['track'] === 'outbound') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media frame without a string media.payload', frame);
    const bytes = decodeMediaPayload(payload, frame, fail);
    if (this.#encoding === 'l16' && bytes.byteLength % 2 !== 0)
      fail(`slin media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    const audio: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload: bytes };
    const sequence = readCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    return [audio];
  }
}
