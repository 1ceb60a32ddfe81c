/**
 * Exotel Voicebot applet (AgentStream, bidirectional).
 *
 * Wire format: https://developer.exotel.com/docs/agentstream/stream-voicebot-applet and
 * https://developer.exotel.com/docs/agentstream/websocket-protocol. Audio is raw slin: 16-bit
 * little-endian mono PCM at 8 kHz (16 or 24 kHz with `?sample-rate=`), base64 in JSON. Audio sent
 * back must come in chunks of at least 3.2 KB, at most 100 KB, and a multiple of 320 bytes;
 * other sizes play with gaps.
 */
import { ProtocolError, base64Encode, FrameParse } from '@switchboard/core';
import type { AudioFormat, CallEvent, FrameRules, MediaStreamProtocol, OutboundCommand, ProtocolCapabilities, StreamCommandWriters } from '@switchboard/core';
import { isJsonObject, readCounter, stringRecord, type JsonObject } from '@switchboard/core';
import { ActiveStreamId, assertTextFrame, callStartEvent, decodeDtmfFrame, decodeMarkFrame, decodeMediaPayload } from '@switchboard/core';
import { decodeStopFrame, encodeStreamCommand, readFrameEvent, readFrameObject, readStartObject, readStartStreamId } from '@switchboard/core';

const PROVIDER = 'exotel';

/** Exotel's chunk rules for audio sent back: ≥ 3.2 KB, ≤ 100 KB, a multiple of 320 bytes. */
export const EXOTEL_FRAME_RULES: Readonly<Required<Pick<FrameRules, 'minBytes' | 'maxBytes' | 'multipleOf'>>> = Object.freeze({
  minBytes: 3200,
  maxBytes: 100_000,
  multipleOf: 320,
});

const SLIN_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const RATES = new Set([8000, 16000, 24000]);
/**
 * Names Exotel and its docs use for raw 16-bit PCM. `base64` is what many live Voicebot streams
 * send (`{"encoding":"base64","sample_rate":"8000","bit_rate":"128kbps"}`): it names the payload's
 * transport encoding, the audio being slin all the same.
 */
const SLIN_NAMES = new Set(['audio/x-raw', 'raw/slin', 'slin', 'slin16', 'audio/l16', 'audio/x-l16', 'l16', 'pcm', 'audio/pcm', 'raw', 'base64']);

/** `8000`, `"8000"`, `"8kHz"`, `"16 khz"` → Hz; anything else `undefined`. */
function readSampleRate(value: unknown): number | undefined {
  const plain = readCounter(value);
  if (plain !== undefined) return plain;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d{1,3})\s*khz\s*$/i.exec(value);
  return match ? Number(match[1]) * 1000 : undefined;
}

/**
 * Checks `bit_rate`. Exotel writes either the sample width (`"16"`) or the stream's bit rate
 * (`"128kbps"`, which is 16-bit samples at 8 kHz). Only a sample width other than 16 is refused.
 */
function checkBitRate(value: unknown, frame: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' && typeof value !== 'number') fail('start.media_format.bit_rate is not a string or a number', frame);
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*[km]?bps\s*$/i.test(value)) return;
  const bits = readCounter(typeof value === 'string' ? value.trim() : value);
  if (bits === undefined) fail('start.media_format.bit_rate is neither a sample width nor a bit rate', frame);
  // Small values are bits per sample; large ones a bit rate in bit/s or kbit/s.
  if (bits <= 64 && bits !== 16) fail('start.media_format.bit_rate must be 16 (slin is 16-bit PCM)', frame, 'exotel_unsupported_format');
}

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/** Maps `start.media_format` to an {@link AudioFormat}: slin at 8, 16 or 24 kHz. */
function readMediaFormat(value: unknown, frame: string): AudioFormat {
  if (value === undefined || value === null) return { ...SLIN_8K };
  if (!isJsonObject(value)) fail('start.media_format is not an object', frame);
  const rawEncoding = value['encoding'];
  if (rawEncoding !== undefined && typeof rawEncoding !== 'string') fail('start.media_format.encoding is not a string', frame);
  if (rawEncoding !== undefined) {
    const name = rawEncoding.split(';', 1)[0]!.trim().toLowerCase();
    if (!SLIN_NAMES.has(name)) {
      fail(`codec ${JSON.stringify(rawEncoding.slice(0, 40))} is not supported: the Voicebot applet streams raw slin (16-bit PCM)`, frame, 'exotel_unsupported_format');
    }
  }
  const rawRate = value['sample_rate'];
  const sampleRate = rawRate === undefined || rawRate === null ? 8000 : readSampleRate(rawRate);
  if (sampleRate === undefined) fail('start.media_format.sample_rate is not an integer', frame);
  if (!RATES.has(sampleRate)) fail(`sample_rate ${sampleRate} is not supported: 8000, 16000 or 24000`, frame, 'exotel_unsupported_format');
  checkBitRate(value['bit_rate'], frame);
  return { encoding: 'l16', sampleRate, channels: 1 };
}

/**
 * The Exotel Voicebot protocol. Pure: the state is the active `stream_sid` (needed on every
 * outbound frame) and a one-entry cache of the last parsed frame for the raw `exotel_message`
 * event. Media frames carry `media.chunk` as `sequence`. The chunk rules are declared in
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
  readonly #parses = new FrameParse();
  readonly #writers: StreamCommandWriters = {
    audio: (payload) => `{"event":"media","stream_sid":${this.#stream.json('media')},"media":{"payload":"${base64Encode(payload)}"}}`,
    mark: (name) => `{"event":"mark","stream_sid":${this.#stream.json('mark')},"mark":{"name":${JSON.stringify(name)}}}`,
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
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const media = message['media'];
    if (!isJsonObject(media)) fail('media frame without a media object', frame);
    if (media['track'] === 'outbound') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media frame without a string media.payload', frame);
    const bytes = decodeMediaPayload(payload, frame, fail);
    if (bytes.byteLength % 2 !== 0) fail(`slin media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    const audio: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload: bytes };
    const sequence = readCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    return [audio];
  }
}
