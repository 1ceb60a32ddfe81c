import {
  ConfigError,
  ProtocolError,
  base64Encode,
  swapBytes16,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import {
  KEYPAD_DIGIT,
  isJsonObject,
  nonEmptyString,
  readCounter,
  stringRecord,
  FrameParse,
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
  type FailFrame,
  type JsonObject,
  type StreamCommandWriters,
} from '@switchboard/core/protocol';

/**
 * Carriers that speak Twilio Media Streams: Twilio itself, and SignalWire's cXML `<Stream>`
 * (https://developer.signalwire.com/compatibility-api/cxml/voice/stream): the same
 * `connected/start/media/dtmf/mark/stop` envelope and the same `media`/`mark`/`clear` commands,
 * plus L16 at 16 or 24 kHz (`codec="L16@16000h"`, `mediaFormat.encoding` `audio/x-L16`) and a DTMF
 * `duration`. The dialect names the protocol: raw frames are `<dialect>_message` events and
 * errors carry it as their provider.
 */
export type TwilioDialect = 'twilio' | 'signalwire';

/** Byte order of 16-bit L16 samples on the wire. */
export type L16ByteOrder = 'little-endian' | 'big-endian';

export type TwilioMediaStreamProtocolOptions = {
  /** Default `twilio`. */
  dialect?: TwilioDialect;
  /**
   * SignalWire only: the byte order of L16 payloads (`codec="L16@16000h"` / `L16@24000h`).
   * Default `little-endian`, what this dialect has always assumed: neither SignalWire's
   * documentation nor its SDK states the order. With `big-endian`, inbound payloads are swapped
   * to the core's little-endian and outbound ones back. Twilio never streams L16, so the
   * `twilio` dialect refuses `big-endian` with a `ConfigError` (`little-endian` is accepted: it
   * changes nothing).
   */
  l16ByteOrder?: L16ByteOrder;
};

const DIALECTS: readonly TwilioDialect[] = ['twilio', 'signalwire'];
const L16_BYTE_ORDERS: readonly L16ByteOrder[] = ['little-endian', 'big-endian'];

/** μ-law 8 kHz mono: what Twilio always streams, and the fallback when `start` names no format. */
const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/** Sample rates SignalWire offers for L16 streams (`L16@16000h`, `L16@24000h`) plus 8 kHz. */
const L16_RATES = new Set([8000, 16000, 24000]);

/**
 * Reads one of Twilio's counters (`sequenceNumber`, `chunk`, `timestamp`). Twilio sends them
 * as JSON strings holding decimal integers; plain JSON numbers are accepted too. Anything
 * else yields `undefined`. Core's `readCounter`, under the name this package has exported.
 */
export const readTwilioCounter = readCounter;

/** Maps `start.mediaFormat` to an {@link AudioFormat}; throws on formats the bridge cannot play. */
function readMediaFormat(value: unknown, frame: string, fail: FailFrame): AudioFormat {
  if (value === undefined || value === null) return { ...MULAW_8K };
  if (!isJsonObject(value)) fail('start.mediaFormat is not an object', frame);

  const rawEncoding = value['encoding'];
  if (rawEncoding !== undefined && typeof rawEncoding !== 'string')
    fail('start.mediaFormat.encoding is not a string', frame);
  // Lower-case and drop any `;rate=...` style parameters: only the media type decides the codec.
  const mediaType = (rawEncoding ?? 'audio/x-mulaw').split(';', 1)[0]!.trim().toLowerCase();

  let encoding: AudioFormat['encoding'];
  if (mediaType === 'audio/x-mulaw') encoding = 'pcmu';
  else if (mediaType === 'audio/x-alaw') encoding = 'pcma';
  else if (mediaType === 'audio/l16' || mediaType === 'audio/x-l16') encoding = 'l16';
  else fail(`unsupported start.mediaFormat.encoding ${JSON.stringify(mediaType.slice(0, 40))}`, frame);

  const channels = value['channels'];
  if (channels !== undefined && readCounter(channels) !== 1) {
    fail('start.mediaFormat.channels must be 1 (telephony audio is mono)', frame);
  }

  const rawRate = value['sampleRate'];
  const sampleRate = rawRate === undefined ? undefined : readCounter(rawRate);
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

  readonly #stream: ActiveStreamId;
  /** The stream's format, once a `start` was decoded: L16 payloads must hold whole samples. */
  #format: AudioFormat = { ...MULAW_8K };
  /** L16 payloads are big-endian on the wire (`l16ByteOrder: 'big-endian'`), swapped at the edge. */
  readonly #bigEndian: boolean;
  readonly #parses = new FrameParse();
  readonly #writers: StreamCommandWriters = {
    audio: (payload) =>
      `{"event":"media","streamSid":${this.#stream.json('media')},"media":{"payload":"${base64Encode(this.#toWire(payload))}"}}`,
    mark: (name) => `{"event":"mark","streamSid":${this.#stream.json('mark')},"mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => `{"event":"clear","streamSid":${this.#stream.json('clear')}}`,
    dtmf: (digits) => this.#encodeDtmf(digits),
    // Hang-up is not on the media stream: it goes through TwilioCallControl.
  };

  constructor(options: TwilioMediaStreamProtocolOptions = {}) {
    const dialect = options?.dialect ?? 'twilio';
    if (!DIALECTS.includes(dialect)) {
      throw new ConfigError(`Unknown Media Streams dialect ${JSON.stringify(dialect)}: use 'twilio' or 'signalwire'.`);
    }
    const order = options?.l16ByteOrder ?? 'little-endian';
    if (!L16_BYTE_ORDERS.includes(order)) {
      throw new ConfigError(
        `l16ByteOrder must be 'little-endian' or 'big-endian', got ${JSON.stringify(String(order).slice(0, 40))}.`,
      );
    }
    if (dialect === 'twilio' && order === 'big-endian') {
      throw new ConfigError(
        "l16ByteOrder 'big-endian' applies to the 'signalwire' dialect only: Twilio never streams L16.",
      );
    }
    this.#bigEndian = order === 'big-endian';
    this.name = dialect;
    this.#stream = new ActiveStreamId(dialect, 'streamSid');
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
    return this.#stream.id;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    const fail: FailFrame = this.#fail;
    assertTextFrame(frame, fail, 'received a binary frame; Twilio Media Streams send JSON text frames');
    let message = readFrameObject(frame, fail, this.#parses);
    // SignalWire documents its messages inside a `rawEvent` envelope; the envelope's inner event
    // is the Twilio-shaped one.
    const inner = message['rawEvent'];
    if (this.name === 'signalwire' && message['event'] === undefined && isJsonObject(inner)) message = inner;

    switch (readFrameEvent(message, frame, fail)) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'mark':
        return [decodeMarkFrame(message, frame, fail)];
      case 'dtmf':
        // SignalWire adds the key press's duration in ms; Twilio sends none.
        return [decodeDtmfFrame(message, frame, fail, { digits: 'any', duration: true })];
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'stop':
        return [decodeStopFrame(message)];
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
    return encodeStreamCommand(command, this.#writers);
  }

  /**
   * SignalWire: one `dtmf` frame per digit (0-9, `*`, `#`, A-D). Twilio does not accept DTMF from
   * the bridge, so nothing is sent there.
   */
  #encodeDtmf(digits: string): string[] {
    if (this.name !== 'signalwire') return [];
    // Digits SignalWire plays from a `dtmf` frame: keypad keys, one per frame.
    if (typeof digits !== 'string' || digits.length === 0 || ![...digits].every((digit) => KEYPAD_DIGIT.test(digit))) {
      throw new ProtocolError(
        this.name,
        `cannot send DTMF ${JSON.stringify(String(digits).slice(0, 20))}: digits must be 0-9, *, # or A-D`,
      );
    }
    const sid = this.#stream.json('dtmf');
    return [...digits.toUpperCase()].map((digit) => `{"event":"dtmf","streamSid":${sid},"dtmf":{"digit":"${digit}"}}`);
  }

  /** Core audio (L16 little-endian, or G.711) as the stream carries it. */
  #toWire(payload: Uint8Array): Uint8Array {
    return this.#bigEndian && this.#format.encoding === 'l16' ? swapBytes16(payload) : payload;
  }

  readonly #fail: FailFrame = (message, frame) => {
    throw new ProtocolError(this.name, message, { frame });
  };

  #decodeStart(message: JsonObject, frame: string): CallEvent {
    const fail: FailFrame = this.#fail;
    const start = readStartObject(message, frame, fail);
    // Lenient, unlike the other carriers: a missing or malformed start.streamSid falls back to
    // the envelope's.
    const streamSid = nonEmptyString(start['streamSid']) ?? nonEmptyString(message['streamSid']);
    if (streamSid === undefined) fail('start frame without a streamSid', frame);

    const format = readMediaFormat(start['mediaFormat'], frame, fail);
    const event = callStartEvent({
      streamId: streamSid,
      format,
      customParameters: stringRecord(start['customParameters']),
      raw: message,
      callId: start['callSid'],
      // Twilio's start carries no caller numbers; dialects that do put them next to callSid.
      from: start['from'],
      to: start['to'],
    });
    this.#stream.set(streamSid);
    this.#format = format;
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const fail: FailFrame = this.#fail;
    const media = message['media'];
    if (!isJsonObject(media)) fail('media message without a media object', frame);
    // A bidirectional stream only carries the caller's track; anything else is not caller audio.
    if (media['track'] === 'outbound') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media message without a string media.payload', frame);

    const bytes = decodeMediaPayload(payload, frame, fail);
    // Half a sample cannot be played or resampled: the frame is refused (and counted), not cut.
    if (this.#format.encoding === 'l16' && bytes.byteLength % 2 !== 0) {
      fail(`L16 media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    }
    // Big-endian L16 is swapped to the core's little-endian; the wire's base64 then no longer
    // matches the payload, so it is not passed on.
    const audio: Extract<CallEvent, { type: 'audio' }> =
      this.#bigEndian && this.#format.encoding === 'l16'
        ? { type: 'audio', payload: swapBytes16(bytes) }
        : { type: 'audio', payload: bytes, payloadBase64: payload };
    const sequence = readCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    const timestampMs = readCounter(media['timestamp']);
    if (timestampMs !== undefined) audio.timestampMs = timestampMs;
    return [audio];
  }
}
