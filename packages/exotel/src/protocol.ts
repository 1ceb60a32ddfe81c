/**
 * Exotel Voicebot applet (AgentStream, bidirectional).
 *
 * Wire format: https://developer.exotel.com/docs/agentstream/stream-voicebot-applet and
 * https://developer.exotel.com/docs/agentstream/websocket-protocol. Audio is raw slin: 16-bit
 * little-endian mono PCM at 8 kHz (16 or 24 kHz with `?sample-rate=`), base64 in JSON. Audio sent
 * back must come in chunks of at least 3.2 KB, at most 100 KB, and a multiple of 320 bytes;
 * other sizes play with gaps.
 */
import { ProtocolError, base64Decode, base64Encode, FrameParse } from '@switchboard/core';
import type { AudioFormat, CallEvent, FrameRules, MediaStreamProtocol, OutboundCommand, ProtocolCapabilities } from '@switchboard/core';
import { isJsonObject, nonEmptyString, readCounter, stringRecord, type JsonObject } from '@switchboard/core';

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
const DTMF_DIGIT = /^[0-9*#A-Da-d]$/;

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

  #streamSidJson: string | undefined;
  #streamSid: string | undefined;
  readonly #parses = new FrameParse();

  /** The `stream_sid` of the active stream, once a `start` has been decoded. */
  get streamSid(): string | undefined {
    return this.#streamSid;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    if (typeof frame !== 'string') fail('received a binary frame; Exotel streams send JSON text frames', frame);
    let message: unknown;
    try {
      message = this.#parses.parse(frame);
    } catch {
      fail('frame is not valid JSON', frame);
    }
    if (!isJsonObject(message)) fail('frame is not a JSON object', frame);
    const event = message['event'];
    if (typeof event !== 'string') fail('frame has no string "event" field', frame);

    switch (event) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'mark': {
        const mark = message['mark'];
        const name = isJsonObject(mark) ? mark['name'] : undefined;
        if (typeof name !== 'string') fail('mark frame without a string mark.name', frame);
        return [{ type: 'playback_ack', name }];
      }
      case 'dtmf': {
        const dtmf = message['dtmf'];
        const raw = isJsonObject(dtmf) ? dtmf['digit'] : undefined;
        if (typeof raw !== 'string' || !DTMF_DIGIT.test(raw)) fail('dtmf frame without a string dtmf.digit of 0-9, *, #, A-D', frame);
        const digit = raw.toUpperCase();
        const duration = readCounter((dtmf as JsonObject)['duration']);
        return [duration === undefined ? { type: 'dtmf', digit } : { type: 'dtmf', digit, durationMs: duration }];
      }
      case 'stop': {
        const stop = message['stop'];
        const reason = isJsonObject(stop) ? nonEmptyString(stop['reason']) : undefined;
        return [{ type: 'call_end', reason: reason ?? 'stop' }];
      }
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
    switch (command.type) {
      case 'audio':
        if (command.payload.byteLength === 0) return [];
        return [`{"event":"media","stream_sid":${this.#sidFor('media')},"media":{"payload":"${base64Encode(command.payload)}"}}`];
      case 'mark':
        return [`{"event":"mark","stream_sid":${this.#sidFor('mark')},"mark":{"name":${JSON.stringify(command.name)}}}`];
      case 'clear':
        return [`{"event":"clear","stream_sid":${this.#sidFor('clear')}}`];
      case 'hangup':
      case 'dtmf':
        // Closing the socket ends the applet (the flow goes on to the next one); no DTMF out.
        return [];
      default:
        return [];
    }
  }

  #sidFor(what: string): string {
    if (this.#streamSidJson === undefined) throw new ProtocolError(PROVIDER, `cannot send ${what} before the stream's start message (no stream_sid yet)`);
    return this.#streamSidJson;
  }


  #decodeStart(message: JsonObject, frame: string): CallEvent {
    const startValue = message['start'];
    if (startValue !== undefined && !isJsonObject(startValue)) fail('start frame with a non-object start field', frame);
    const start: JsonObject = startValue ?? {};
    const rawSid = start['stream_sid'] ?? message['stream_sid'];
    if (rawSid !== undefined && typeof rawSid !== 'string') fail('start frame with a non-string stream_sid', frame);
    const streamSid = nonEmptyString(rawSid);
    if (streamSid === undefined) fail('start frame without a stream_sid', frame);
    const format = readMediaFormat(start['media_format'], frame);

    const event: Extract<CallEvent, { type: 'call_start' }> = {
      type: 'call_start',
      streamId: streamSid,
      format,
      customParameters: stringRecord(start['custom_parameters']),
      raw: message,
    };
    const callSid = nonEmptyString(start['call_sid']);
    if (callSid !== undefined) event.callId = callSid;
    const from = nonEmptyString(start['from']);
    if (from !== undefined) event.from = from;
    const to = nonEmptyString(start['to']);
    if (to !== undefined) event.to = to;

    this.#streamSid = streamSid;
    this.#streamSidJson = JSON.stringify(streamSid);
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const media = message['media'];
    if (!isJsonObject(media)) fail('media frame without a media object', frame);
    if (media['track'] === 'outbound') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media frame without a string media.payload', frame);
    let bytes: Uint8Array;
    try {
      bytes = base64Decode(payload);
    } catch {
      fail('media.payload is not valid base64', frame);
    }
    if (bytes.byteLength % 2 !== 0) fail(`slin media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    const audio: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload: bytes };
    const sequence = readCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    return [audio];
  }
}
