/**
 * Wavix call media streaming, bidirectional (`stream_type: "twoway"`).
 *
 * Wire format: Wavix's AsyncAPI document (https://docs.wavix.com/api-reference/websocket/websockets/callstreaming,
 * source `docs/wavix-asyncapi.yaml` of github.com/Wavix/wavix-openapi). Wavix connects to the
 * `stream_url` given when the stream is started over REST and sends snake_case JSON text frames:
 * `connected`, then `start` (`call_id`, `stream_id`, `stream_type`, `channel` at the top level),
 * `media` (`media.payload` base64, `media.track`, `media.chunk` counting from 1), `mark` (the echo
 * of a mark the bridge sent, once the audio before it has played) and `stop`. Audio is PCM16,
 * 24 kHz, mono, both ways: the model's own format, so nothing is resampled or transcoded.
 * Little-endian byte order and 20 ms frames are what Wavix's own Pipecat serializer
 * (github.com/Wavix/pipecat-wavix) reads and writes.
 *
 * The bridge sends `media`, `mark` and `clear`. Each names the stream in `stream_id` (optional on
 * the wire; Wavix validates it when present and silently drops a frame naming another stream).
 * There is no DTMF on the stream (Wavix collects digits over REST and reports them by webhook), and
 * no hang-up: that is `DELETE /v1/calls/{id}` (see `WavixCallControl`).
 */
import {
  ConfigError,
  ProtocolError,
  base64Encode,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import {
  ActiveStreamId,
  FrameParse,
  assertTextFrame,
  callStartEvent,
  decodeMarkFrame,
  decodeMediaPayload,
  encodeStreamCommand,
  isJsonObject,
  readCounter,
  readFrameEvent,
  readFrameObject,
  readStartStreamId,
  stringRecord,
  type JsonObject,
  type StreamCommandWriters,
} from '@switchboard/core/protocol';

const PROVIDER = 'wavix';

/** The one audio format of a Wavix stream: 16-bit little-endian PCM, 24 kHz, mono. */
export const WAVIX_AUDIO_FORMAT: Readonly<AudioFormat> = Object.freeze({
  encoding: 'l16',
  sampleRate: 24000,
  channels: 1,
});

/** Bytes of one millisecond of Wavix audio (24 samples of 2 bytes). */
const BYTES_PER_MS = 48;
/** Default duration of each outbound media message: the 20 ms frames Wavix's own serializer sends. */
export const WAVIX_DEFAULT_FRAME_MS = 20;
const MAX_FRAME_MS = 1000;

const STREAM_TYPES = new Set(['oneway', 'twoway']);
const CHANNELS = new Set(['inbound', 'outbound', 'both']);
const TRACKS = new Set(['inbound', 'outbound']);

export type WavixMediaStreamProtocolOptions = {
  /**
   * Milliseconds of audio in each `media` message sent to Wavix, a whole number from 10 to 1000.
   * Default 20: the frame Wavix's own Pipecat serializer sends. Wavix does not document a limit on
   * the size of audio sent back; a larger frame means fewer messages.
   */
  frameMs?: number;
  /**
   * What Wavix does with the marks still queued when the bridge sends `clear`: `none` (default:
   * they never come back) or `echo-pending` (they come back at once, as Twilio does). Wavix does
   * not document it; the bridge works either way, and this tells the conformance harness which to
   * play.
   */
  ackOnClear?: 'none' | 'echo-pending';
  /**
   * Keep at most this many ms of audio queued at Wavix, holding the rest in the bridge (paced by
   * the playout clock). Default `null`: no pacing, as for Twilio; Wavix documents a clearable
   * buffer but not its size.
   */
  pacingLeadMs?: number | null;
  /**
   * `callStart.customParameters`. Wavix's `start` carries no parameters of its own: give what your
   * application knows of the call — the query of the stream URL it connected to (see
   * `readWavixStreamUrlParameters`), or what it kept when it answered the call — as a record, or as
   * a function of the starting stream (called once per `start`). Default: none.
   */
  customParameters?: WavixCustomParameters;
};

/** What {@link WavixMediaStreamProtocolOptions.customParameters} takes. */
export type WavixCustomParameters =
  Record<string, string> | ((stream: { streamId: string; callId?: string }) => Record<string, string> | undefined);

function fail(message: string, frame: unknown, code?: string): never {
  throw new ProtocolError(PROVIDER, message, code === undefined ? { frame } : { frame, code });
}

/** Code of the ProtocolError for a `start` whose `stream_type` or `channel` Wavix does not define. */
export const WAVIX_UNSUPPORTED_STREAM_CODE = 'wavix_unsupported_stream';

function readOptionalEnum(message: JsonObject, field: string, allowed: Set<string>, frame: string): void {
  const value = message[field];
  if (value === undefined) return;
  if (typeof value !== 'string') fail(`start frame with a non-string ${field}`, frame);
  if (!allowed.has(value)) {
    fail(
      `start frame with ${field} ${JSON.stringify(value.slice(0, 40))}: Wavix sends ${[...allowed].join(', ')}`,
      frame,
      WAVIX_UNSUPPORTED_STREAM_CODE,
    );
  }
}

/** Checks the options shared by the protocol and the transport; returns the frame length in ms. */
export function readWavixFrameMs(value: unknown, owner: string): number {
  if (value === undefined) return WAVIX_DEFAULT_FRAME_MS;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 10 && value <= MAX_FRAME_MS))
    throw new ConfigError(`${owner}: frameMs must be a whole number of ms from 10 to ${MAX_FRAME_MS}`);
  return value;
}

function readCapabilities(options: WavixMediaStreamProtocolOptions): ProtocolCapabilities {
  const owner = 'WavixMediaStreamProtocol';
  const frameMs = readWavixFrameMs(options.frameMs, owner);
  const ackOnClear = options.ackOnClear ?? 'none';
  if (ackOnClear !== 'none' && ackOnClear !== 'echo-pending')
    throw new ConfigError(`${owner}: ackOnClear must be "none" or "echo-pending"`);
  const lead = options.pacingLeadMs ?? null;
  if (lead !== null && !(typeof lead === 'number' && Number.isFinite(lead) && lead >= frameMs))
    throw new ConfigError(`${owner}: pacingLeadMs must be null or a number of ms of at least frameMs (${frameMs})`);
  return {
    playbackAck: 'mark',
    ackOnClear,
    clear: true,
    dtmfIn: false,
    dtmfOut: false,
    // One frame per message: whole samples, `frameMs` long.
    frame: { ms: frameMs, maxBytes: frameMs * BYTES_PER_MS },
    ...(lead === null ? {} : { pacing: { leadMs: lead } }),
  };
}

/**
 * The Wavix call streaming protocol. Pure: its state is the active `stream_id` (written into every
 * outbound frame), whether the stream carries the caller's channel alone, and a one-entry cache of
 * the last parsed frame for the raw `wavix_message` event. Media frames carry `media.chunk` as
 * `sequence`, so frames that arrive out of order are put back in order and a missing one is
 * padded; on a stream that also carries the outbound channel, they go by arrival order.
 * `media.timestamp` (an RTP timestamp whose clock rate Wavix does not state) is not read.
 */
export class WavixMediaStreamProtocol implements MediaStreamProtocol {
  readonly name = 'wavix';
  readonly capabilities: ProtocolCapabilities;
  readonly defaultFormat: AudioFormat = { ...WAVIX_AUDIO_FORMAT };

  readonly #stream = new ActiveStreamId(PROVIDER, 'stream_id');
  readonly #parses = new FrameParse();
  readonly #parameters: WavixCustomParameters | undefined;
  /** Whether `media.chunk` numbers the caller's frames alone (see `#decodeStart`). */
  #sequenced = true;
  readonly #writers: StreamCommandWriters = {
    audio: (payload) =>
      `{"event":"media","stream_id":${this.#stream.json('media')},"media":{"payload":"${base64Encode(payload)}"}}`,
    mark: (name) => `{"event":"mark","stream_id":${this.#stream.json('mark')},"mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => `{"event":"clear","stream_id":${this.#stream.json('clear')}}`,
  };

  constructor(options: WavixMediaStreamProtocolOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigError('WavixMediaStreamProtocol: options must be an object');
    this.capabilities = readCapabilities(options);
    const parameters = options.customParameters;
    if (parameters !== undefined && typeof parameters !== 'function' && !isJsonObject(parameters))
      throw new ConfigError('WavixMediaStreamProtocol: customParameters must be a record or a function');
    this.#parameters = parameters;
  }

  /** The `stream_id` of the active stream, once a `start` has been decoded. */
  get streamId(): string | undefined {
    return this.#stream.id;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    assertTextFrame(frame, fail, 'received a binary frame; Wavix streams send JSON text frames');
    const message = readFrameObject(frame, fail, this.#parses);
    switch (readFrameEvent(message, frame, fail)) {
      case 'media':
        return this.#decodeMedia(message, frame);
      case 'start':
        return [this.#decodeStart(message, frame)];
      case 'mark':
        return [decodeMarkFrame(message, frame, fail)];
      case 'stop':
        return [{ type: 'call_end', reason: 'stop' }];
      default:
        // `connected`, and whatever Wavix adds later.
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
    const streamId = readStartStreamId(message['stream_id'], 'stream_id', frame, fail);
    const callId = message['call_id'];
    if (callId !== undefined && typeof callId !== 'string') fail('start frame with a non-string call_id', frame);
    readOptionalEnum(message, 'stream_type', STREAM_TYPES, frame);
    readOptionalEnum(message, 'channel', CHANNELS, frame);
    const event = callStartEvent({
      streamId,
      format: { ...WAVIX_AUDIO_FORMAT },
      customParameters: this.#customParameters(streamId, callId, frame),
      raw: message,
      callId,
      from: undefined,
      to: undefined,
    });
    this.#stream.set(streamId);
    // `media.chunk` counts the stream's chunks, and Wavix does not say whether a stream of both
    // channels numbers them across both: there, frames go by arrival order (one ordered socket).
    // A two-way stream carries the inbound channel only.
    this.#sequenced = !(message['stream_type'] === 'oneway' && message['channel'] === 'both');
    return event;
  }

  #customParameters(streamId: string, callId: string | undefined, frame: string): Record<string, string> {
    const parameters = this.#parameters;
    if (parameters === undefined) return {};
    if (typeof parameters !== 'function') return stringRecord(parameters);
    let found: unknown;
    try {
      found = parameters(callId === undefined || callId === '' ? { streamId } : { streamId, callId });
    } catch (error) {
      throw new ProtocolError(PROVIDER, 'the customParameters function threw for this start', { frame, cause: error });
    }
    return stringRecord(found);
  }

  #decodeMedia(message: JsonObject, frame: string): CallEvent[] {
    const media = message['media'];
    if (!isJsonObject(media)) fail('media frame without a media object', frame);
    const track = media['track'];
    if (track !== undefined && (typeof track !== 'string' || !TRACKS.has(track)))
      fail('media frame whose media.track is neither "inbound" nor "outbound"', frame);
    if (track === 'outbound') {
      // The call's own outbound leg is not the caller. Seen on a stream numbered as the caller's
      // alone, it shares the numbering: from here, the caller's frames go by arrival order.
      this.#sequenced = false;
      return [];
    }
    const payload = media['payload'];
    if (typeof payload !== 'string') fail('media frame without a string media.payload', frame);
    const bytes = decodeMediaPayload(payload, frame, fail);
    if (bytes.byteLength % 2 !== 0)
      fail(`media.payload of ${bytes.byteLength} bytes is not whole 16-bit samples`, frame);
    const audio: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload: bytes };
    const sequence = this.#sequenced ? readCounter(media['chunk']) : undefined;
    if (sequence !== undefined) audio.sequence = sequence;
    return [audio];
  }
}
