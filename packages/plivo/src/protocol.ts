/**
 * Plivo Audio Streams, bidirectional (`<Stream bidirectional="true">`).
 *
 * Wire format: https://plivo.com/docs/voice/audio-streaming/audio-streaming (messages from and to
 * Plivo), https://plivo.com/docs/voice/xml/the-stream-element/play-audio-event and
 * https://plivo.com/docs/voice/xml/the-stream-element/checkpoint-event. Plivo names everything its
 * own way: `playAudio`, `checkpoint` → `playedStream` (sent only once the audio before it really
 * played; Plivo's FAQ calls the same message `played`, accepted too), `clearAudio` →
 * `clearedAudio` (queued checkpoints are never returned).
 */
import {
  ProtocolError,
  base64Encode,
  type AudioFormat,
  type CallEvent,
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
  decodeMediaPayload,
  decodeStopFrame,
  encodeStreamCommand,
  readFrameEvent,
  readFrameObject,
  readStartObject,
  readStartStreamId,
} from '@switchboard/core/protocol';

const PROVIDER = 'plivo';

/** Plivo's default `contentType`: `audio/x-l16;rate=8000`. */
const L16_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const L16_RATES = new Set([8000, 16000]);

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/** The `contentType` / `mediaFormat.encoding` of a format (`audio/x-mulaw`, `audio/x-l16`). */
export function plivoContentType(format: AudioFormat): string {
  return format.encoding === 'pcmu' ? 'audio/x-mulaw' : format.encoding === 'l16' ? 'audio/x-l16' : 'audio/x-alaw';
}

/** `audio/x-mulaw` or `audio/x-l16` (any case, `;rate=` ignored) as an encoding, else undefined. */
export function plivoEncoding(contentType: string): AudioFormat['encoding'] | undefined {
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'audio/x-mulaw' || type === 'audio/mulaw' || type === 'audio/pcmu') return 'pcmu';
  if (type === 'audio/x-l16' || type === 'audio/l16') return 'l16';
  return undefined;
}

/**
 * Custom parameters from `extra_headers`: the `extraHeaders` of the Stream XML, sent as
 * `key=value` pairs separated by `;` (or `,`, as written in the XML attribute).
 */
export function parseExtraHeaders(value: unknown): Record<string, string> {
  if (isJsonObject(value)) return stringRecord(value);
  if (typeof value !== 'string' || value.length === 0) return {};
  const out: Record<string, string> = {};
  for (const pair of value.split(/[;,]/)) {
    const at = pair.indexOf('=');
    const key = (at === -1 ? pair : pair.slice(0, at)).trim();
    if (key.length === 0) continue;
    Object.defineProperty(out, key, {
      value: at === -1 ? '' : pair.slice(at + 1).trim(),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Maps `start.mediaFormat` to an {@link AudioFormat}; throws on formats Plivo streams do not carry. */
function readMediaFormat(value: unknown, frame: string): AudioFormat {
  if (value === undefined || value === null) return { ...L16_8K };
  if (!isJsonObject(value)) fail('start.mediaFormat is not an object', frame);
  const rawEncoding = value['encoding'];
  if (rawEncoding !== undefined && typeof rawEncoding !== 'string')
    fail('start.mediaFormat.encoding is not a string', frame);
  const name = rawEncoding ?? 'audio/x-l16';
  const encoding = plivoEncoding(name);
  if (encoding === undefined) {
    fail(
      `unsupported start.mediaFormat.encoding ${JSON.stringify(name.slice(0, 40))}: use contentType audio/x-mulaw;rate=8000 or audio/x-l16;rate=8000|16000`,
      frame,
      'plivo_unsupported_format',
    );
  }
  const rawRate = value['sampleRate'];
  const sampleRate = rawRate === undefined ? 8000 : readCounter(rawRate);
  if (sampleRate === undefined) fail('start.mediaFormat.sampleRate is not an integer', frame);
  if (encoding === 'pcmu' && sampleRate !== 8000)
    fail(
      `audio/x-mulaw streams are 8000 Hz, start.mediaFormat.sampleRate is ${sampleRate}`,
      frame,
      'plivo_unsupported_format',
    );
  if (encoding === 'l16' && !L16_RATES.has(sampleRate))
    fail(
      `audio/x-l16 streams are 8000 or 16000 Hz, start.mediaFormat.sampleRate is ${sampleRate}`,
      frame,
      'plivo_unsupported_format',
    );
  return { encoding, sampleRate, channels: 1 };
}

/**
 * Plivo Audio Streams. Pure: the state is the active stream id and format (needed on outbound
 * frames) and a one-entry cache of the last parsed frame for the raw `plivo_message` event.
 *
 * Media frames carry `media.chunk` as `sequence`. `media.timestamp` is wall-clock epoch ms, so it
 * is not used to find gaps: the jitter of a wall clock would read as tiny gaps and pad them.
 */
export class PlivoMediaStreamProtocol implements MediaStreamProtocol {
  readonly name = 'plivo';
  readonly capabilities: ProtocolCapabilities = {
    playbackAck: 'mark',
    // `clearAudio` is confirmed once by `clearedAudio`; pending checkpoints are never returned.
    ackOnClear: 'confirm',
    clear: true,
    dtmfIn: true,
    // DTMF goes out through the REST API (`PlivoCallControl.sendDtmf`).
    dtmfOut: false,
  };
  readonly defaultFormat: AudioFormat = { ...L16_8K };

  readonly #stream = new ActiveStreamId(PROVIDER, 'streamId');
  #format: AudioFormat = { ...L16_8K };
  /** `"contentType":…,"sampleRate":…` for playAudio frames, per the stream's format. */
  #mediaHeader = `"contentType":"audio/x-l16","sampleRate":8000`;
  readonly #parses = new FrameParse();
  readonly #writers: StreamCommandWriters = {
    audio: (payload) => `{"event":"playAudio","media":{${this.#mediaHeader},"payload":"${base64Encode(payload)}"}}`,
    mark: (name) =>
      `{"event":"checkpoint","streamId":${this.#stream.json('checkpoint')},"name":${JSON.stringify(name)}}`,
    clear: () => `{"event":"clearAudio","streamId":${this.#stream.json('clearAudio')}}`,
    // Hang-up and DTMF go through PlivoCallControl.
  };

  /** The id of the active stream, once a `start` has been decoded. */
  get streamId(): string | undefined {
    return this.#stream.id;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    assertTextFrame(frame, fail, 'received a binary frame; Plivo audio streams send JSON text frames');
    const message = readFrameObject(frame, fail, this.#parses);
    switch (readFrameEvent(message, frame, fail)) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'start':
        return [this.#decodeStart(message, frame)];
      // Plivo's checkpoint and Stream Event Protocol pages name the acknowledgement
      // `playedStream`; its support FAQ shows `played`. Both acknowledge the checkpoint `name`.
      case 'playedStream':
      case 'played': {
        const name = message['name'];
        if (typeof name !== 'string') fail(`${message['event'] as string} frame without a string name`, frame);
        return [{ type: 'playback_ack', name }];
      }
      case 'clearedAudio':
        return [{ type: 'playback_cleared' }];
      case 'dtmf':
        return [decodeDtmfFrame(message, frame, fail, { digits: 'any', duration: false })];
      case 'stop':
        // Plivo ends a stream by closing the socket; a `stop` is honoured should one come.
        return [decodeStopFrame(message)];
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
    const streamId = readStartStreamId(start['streamId'] ?? message['streamId'], 'streamId', frame, fail);
    const format = readMediaFormat(start['mediaFormat'], frame);
    const event = callStartEvent({
      streamId,
      format,
      customParameters: parseExtraHeaders(message['extra_headers'] ?? start['extra_headers']),
      raw: message,
      callId: start['callId'],
      from: start['from'],
      to: start['to'],
    });
    this.#stream.set(streamId);
    this.#format = format;
    this.#mediaHeader = `"contentType":"${plivoContentType(format)}","sampleRate":${format.sampleRate}`;
    return event;
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const media = message['media'];
    if (!isJsonObject(media)) fail('media frame without a media object', frame);
    if (media['track'] === 'outbound') return [];
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media frame without a string media.payload', frame);
    const bytes = decodeMediaPayload(payload, frame, fail);
    if (this.#format.encoding === 'l16' && bytes.byteLength % 2 !== 0)
      fail(`L16 media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    const audio: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload: bytes, payloadBase64: payload };
    const sequence = readCounter(media['chunk']);
    if (sequence !== undefined) audio.sequence = sequence;
    return [audio];
  }
}
