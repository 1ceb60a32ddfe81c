import { ConfigError, ProtocolError, base64Decode, base64Encode, isJsonObject, type JsonObject, FrameParse } from '@switchboard/core';
import type {
  AudioFormat,
  CallEvent,
  MediaStreamProtocol,
  OutboundCommand,
  ProtocolCapabilities,
} from '@switchboard/core';

/**
 * Carriers that speak Twilio Media Streams: Twilio itself, and SignalWire's cXML `<Stream>`
 * (https://developer.signalwire.com/compatibility-api/cxml/voice/stream): the same
 * `connected/start/media/dtmf/mark/stop` envelope and the same `media`/`mark`/`clear` commands,
 * plus L16 at 16 or 24 kHz (`codec="L16@16000h"`, `mediaFormat.encoding` `audio/x-L16`) and a DTMF
 * `duration`. The dialect names the protocol: raw frames are `<dialect>_message` events and
 * errors carry it as their provider.
 */
export type TwilioDialect = 'twilio' | 'signalwire';

export type TwilioMediaStreamProtocolOptions = {
  /** Default `twilio`. */
  dialect?: TwilioDialect;
};

const DIALECTS: readonly TwilioDialect[] = ['twilio', 'signalwire'];

/** Throws the protocol's `ProtocolError`. */
type Fail = (message: string, frame: unknown) => never;

/** μ-law 8 kHz mono: what Twilio always streams, and the fallback when `start` names no format. */
const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/** Digits SignalWire plays from a `dtmf` frame. */
const DTMF_DIGITS = /^[0-9*#A-Da-d]+$/;

/** Sample rates SignalWire offers for L16 streams (`L16@16000h`, `L16@24000h`) plus 8 kHz. */
const L16_RATES = new Set([8000, 16000, 24000]);

export { isJsonObject };

/**
 * Reads one of Twilio's counters (`sequenceNumber`, `chunk`, `timestamp`). Twilio sends them
 * as JSON strings holding decimal integers; plain JSON numbers are accepted too. Anything
 * else yields `undefined`.
 */
export function readTwilioCounter(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/** Maps `start.mediaFormat` to an {@link AudioFormat}; throws on formats the bridge cannot play. */
function readMediaFormat(value: unknown, frame: string, fail: Fail): AudioFormat {
  if (value === undefined || value === null) return { ...MULAW_8K };
  if (!isJsonObject(value)) fail('start.mediaFormat is not an object', frame);

  const rawEncoding = value['encoding'];
  if (rawEncoding !== undefined && typeof rawEncoding !== 'string') fail('start.mediaFormat.encoding is not a string', frame);
  // Lower-case and drop any `;rate=...` style parameters: only the media type decides the codec.
  const mediaType = (rawEncoding ?? 'audio/x-mulaw').split(';', 1)[0]!.trim().toLowerCase();

  let encoding: AudioFormat['encoding'];
  if (mediaType === 'audio/x-mulaw') encoding = 'pcmu';
  else if (mediaType === 'audio/x-alaw') encoding = 'pcma';
  else if (mediaType === 'audio/l16' || mediaType === 'audio/x-l16') encoding = 'l16';
  else fail(`unsupported start.mediaFormat.encoding ${JSON.stringify(mediaType.slice(0, 40))}`, frame);

  const channels = value['channels'];
  if (channels !== undefined && readTwilioCounter(channels) !== 1) {
    fail('start.mediaFormat.channels must be 1 (telephony audio is mono)', frame);
  }

  const rawRate = value['sampleRate'];
  const sampleRate = rawRate === undefined ? undefined : readTwilioCounter(rawRate);
  if (rawRate !== undefined && sampleRate === undefined) fail('start.mediaFormat.sampleRate is not an integer', frame);

  if (encoding === 'l16') {
    if (sampleRate === undefined || !L16_RATES.has(sampleRate)) {
      fail('L16 streams need start.mediaFormat.sampleRate 8000, 16000 or 24000', frame);
    }
    return { encoding, sampleRate, channels: 1 };
  }
  if (sampleRate !== undefined && sampleRate !== 8000) {
    fail(`G.711 streams must be 8000 Hz, start.mediaFormat.sampleRate is ${sampleRate}`, frame);
  }
  return { encoding, sampleRate: 8000, channels: 1 };
}

/** `start.customParameters` as strings (Twilio sends strings; other values are stringified). */
function readCustomParameters(value: unknown): Record<string, string> {
  if (!isJsonObject(value)) return {};
  // Object.fromEntries defines own properties, so a parameter named `__proto__` stays a parameter.
  return Object.fromEntries(
    Object.entries(value).map(([key, v]): [string, string] => {
      if (typeof v === 'string') return [key, v];
      if (v === null || v === undefined) return [key, ''];
      if (typeof v === 'object') return [key, JSON.stringify(v)];
      return [key, String(v)];
    }),
  );
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Twilio Media Streams (`<Connect><Stream>`, bidirectional), also spoken by SignalWire's
 * cXML `<Stream>` including its L16 codecs (`{ dialect: 'signalwire' }`).
 *
 * Pure: the only state is the active stream sid (needed on every outbound frame) and a
 * one-entry cache of the last parsed frame, so the transport's raw `twilio_message` event does
 * not parse the same JSON twice.
 */
export class TwilioMediaStreamProtocol implements MediaStreamProtocol {
  /** The dialect: `twilio` or `signalwire`. */
  readonly name: TwilioDialect;
  readonly capabilities: ProtocolCapabilities;
  readonly defaultFormat: AudioFormat = { ...MULAW_8K };

  #streamSid: string | undefined;
  /** The stream's format, once a `start` was decoded: L16 payloads must hold whole samples. */
  #format: AudioFormat = { ...MULAW_8K };
  /** `streamSid` as a JSON string literal, ready to splice into outbound frames. */
  #streamSidJson: string | undefined;
  readonly #parses = new FrameParse();

  constructor(options: TwilioMediaStreamProtocolOptions = {}) {
    const dialect = options?.dialect ?? 'twilio';
    if (!DIALECTS.includes(dialect)) {
      throw new ConfigError(`Unknown Media Streams dialect ${JSON.stringify(dialect)}: use 'twilio' or 'signalwire'.`);
    }
    this.name = dialect;
    this.capabilities = {
      playbackAck: 'mark',
      ackOnClear: 'echo-pending',
      clear: true,
      dtmfIn: true,
      // SignalWire plays DTMF sent on a bidirectional stream (`{"event":"dtmf","dtmf":{"digit":"5"}}`);
      // Twilio accepts only media, mark and clear.
      dtmfOut: dialect === 'signalwire',
      frame: { ms: 20 },
    };
  }

  /** The sid of the active stream, once a `start` has been decoded. */
  get streamSid(): string | undefined {
    return this.#streamSid;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    const fail: Fail = this.#fail;
    if (typeof frame !== 'string') {
      fail('received a binary frame; Twilio Media Streams send JSON text frames', frame);
    }
    let message: unknown;
    try {
      message = this.#parses.parse(frame);
    } catch {
      // The parser's own message quotes the input, so it is not kept as the cause.
      fail('frame is not valid JSON', frame);
    }

    if (!isJsonObject(message)) fail('frame is not a JSON object', frame);
    // SignalWire documents its messages inside a `rawEvent` envelope; the envelope's inner event
    // is the Twilio-shaped one.
    if (this.name === 'signalwire' && message['event'] === undefined && isJsonObject(message['rawEvent'])) {
      message = message['rawEvent'];
      if (!isJsonObject(message)) fail('frame is not a JSON object', frame);
    }
    const event = message['event'];
    if (typeof event !== 'string') fail('frame has no string "event" field', frame);

    switch (event) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'mark': {
        const mark = message['mark'];
        const name = isJsonObject(mark) ? mark['name'] : undefined;
        if (typeof name !== 'string') fail('mark message without a string mark.name', frame);
        return [{ type: 'playback_ack', name }];
      }
      case 'dtmf': {
        const dtmf = message['dtmf'];
        const digit = isJsonObject(dtmf) ? dtmf['digit'] : undefined;
        if (typeof digit !== 'string' || digit.length === 0) fail('dtmf message without a dtmf.digit', frame);
        // SignalWire adds the key press's duration in ms; Twilio sends none.
        const durationMs = isJsonObject(dtmf) ? readTwilioCounter(dtmf['duration']) : undefined;
        return [durationMs === undefined ? { type: 'dtmf', digit } : { type: 'dtmf', digit, durationMs }];
      }
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'stop':
        return [{ type: 'call_end', reason: 'stop' }];
      case 'connected':
        return [];
      default:
        // Event types Twilio may add later are not errors.
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
        return [
          `{"event":"media","streamSid":${this.#sidFor('media')},"media":{"payload":"${base64Encode(command.payload)}"}}`,
        ];
      case 'mark':
        return [`{"event":"mark","streamSid":${this.#sidFor('mark')},"mark":{"name":${JSON.stringify(command.name)}}}`];
      case 'clear':
        return [`{"event":"clear","streamSid":${this.#sidFor('clear')}}`];
      case 'dtmf':
        return this.#encodeDtmf(command.digits);
      case 'hangup':
        // Not on the media stream: hang-up goes through TwilioCallControl.
        return [];
      default:
        return [];
    }
  }


  /**
   * SignalWire: one `dtmf` frame per digit (0-9, `*`, `#`, A-D). Twilio does not accept DTMF from
   * the bridge, so nothing is sent there.
   */
  #encodeDtmf(digits: string): string[] {
    if (this.name !== 'signalwire') return [];
    if (typeof digits !== 'string' || !DTMF_DIGITS.test(digits)) {
      throw new ProtocolError(this.name, `cannot send DTMF ${JSON.stringify(String(digits).slice(0, 20))}: digits must be 0-9, *, # or A-D`);
    }
    const sid = this.#sidFor('dtmf');
    return [...digits.toUpperCase()].map((digit) => `{"event":"dtmf","streamSid":${sid},"dtmf":{"digit":"${digit}"}}`);
  }

  readonly #fail: Fail = (message, frame) => {
    throw new ProtocolError(this.name, message, { frame });
  };

  #sidFor(what: string): string {
    if (this.#streamSidJson === undefined) {
      throw new ProtocolError(this.name, `cannot send ${what} before the stream's start message (no streamSid yet)`);
    }
    return this.#streamSidJson;
  }

  #decodeStart(message: JsonObject, frame: string): CallEvent {
    const fail: Fail = this.#fail;
    const startValue = message['start'];
    if (startValue !== undefined && !isJsonObject(startValue)) fail('start message with a non-object start field', frame);
    const start: JsonObject = startValue ?? {};

    const streamSid = nonEmptyString(start['streamSid']) ?? nonEmptyString(message['streamSid']);
    if (streamSid === undefined) fail('start message without a streamSid', frame);

    const format = readMediaFormat(start['mediaFormat'], frame, fail);
    const event: Extract<CallEvent, { type: 'call_start' }> = {
      type: 'call_start',
      streamId: streamSid,
      format,
      customParameters: readCustomParameters(start['customParameters']),
      raw: message,
    };
    const callSid = nonEmptyString(start['callSid']);
    if (callSid !== undefined) event.callId = callSid;
    // Twilio's start carries no caller numbers; dialects that do put them next to callSid.
    const from = nonEmptyString(start['from']);
    if (from !== undefined) event.from = from;
    const to = nonEmptyString(start['to']);
    if (to !== undefined) event.to = to;

    this.#streamSid = streamSid;
    this.#streamSidJson = JSON.stringify(streamSid);
    this.#format = format;
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const fail: Fail = this.#fail;
    const media = message['media'];
    if (!isJsonObject(media)) fail('media message without a media object', frame);
    // A bidirectional stream only carries the caller's track; anything else is not caller audio.
    if (media['track'] === 'outbound') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media message without a string media.payload', frame);

    let bytes: Uint8Array;
    try {
      bytes = base64Decode(payload);
    } catch {
      fail('media.payload is not valid base64', frame);
    }
    // Half a sample cannot be played or resampled: the frame is refused (and counted), not cut.
    if (this.#format.encoding === 'l16' && bytes.byteLength % 2 !== 0) {
      fail(`L16 media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    }
    const audio: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload: bytes, payloadBase64: payload };
    const sequence = readTwilioCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    const timestampMs = readTwilioCounter(media['timestamp']);
    if (timestampMs !== undefined) audio.timestampMs = timestampMs;
    return [audio];
  }
}
