import {
  ProtocolError,
  base64Encode,
  bytesPerMs,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import {
  PeerMediaCounter,
  type PeerSimulator,
  isJsonObject,
  assertTextFrame,
  checkExactKeys,
  checkOutboundStreamId,
  decodeMediaPayload,
  readFrameObject,
  rejectOutboundEvent,
} from '@switchboard/core/protocol';
import { plivoContentType, plivoEncoding } from './protocol.js';

export type PlivoPeerSimulatorOptions = {
  /** Stream id used when a `call_start` event carries an empty `streamId`. Generated when absent. */
  streamId?: string;
  /** Call id (`start.callId`) used when a `call_start` event has no `callId`. Generated when absent. */
  callId?: string;
  /** `start.accountId`. Default a made-up `MA…` id. */
  accountId?: string;
  /** Wall-clock time of the first media frame, epoch ms (`media.timestamp`). Default: when the peer is created. */
  epochMs?: number;
  /**
   * The event that acknowledges a played checkpoint: `playedStream` (Plivo's checkpoint and
   * stream-event pages) or `played` (the name in Plivo's support FAQ). Default `playedStream`.
   */
  checkpointEvent?: 'playedStream' | 'played';
};

/** Code of the ProtocolError raised for an outbound frame Plivo would not accept. */
export const PLIVO_INVALID_FRAME_CODE = 'plivo_invalid_frame';

function invalid(message: string, frame: unknown): never {
  throw new ProtocolError('plivo', message, { frame, code: PLIVO_INVALID_FRAME_CODE });
}

function serializeExtraHeaders(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${value}`)
    .join(';');
}

/**
 * Plivo's side of a bidirectional audio stream, for tests and offline development.
 *
 * `encodeInbound` writes what Plivo sends: `start` (custom parameters as `extra_headers`), media
 * with numeric `sequenceNumber` and `chunk` and an epoch-ms `timestamp`, `dtmf`, `playedStream`
 * (or `played`, see {@link PlivoPeerSimulatorOptions.checkpointEvent}) for an acknowledged checkpoint and
 * `clearedAudio` for a confirmed clear. Plivo ends a stream by
 * closing the socket, so `call_end` writes nothing. `decodeOutbound` accepts `playAudio` (whose
 * `contentType` and `sampleRate` must be the stream's), `checkpoint` and `clearAudio` for the
 * active stream, and throws a `ProtocolError` (code `plivo_invalid_frame`) for anything else.
 */
export class PlivoPeerSimulator implements PeerSimulator {
  readonly #options: PlivoPeerSimulatorOptions;
  readonly #accountId: string;
  readonly #epochMs: number;
  readonly #checkpointEvent: 'playedStream' | 'played';
  #sequenceNumber = 0;
  readonly #counter = new PeerMediaCounter();
  #streamId: string | undefined;
  #callId: string | undefined;
  #extraHeaders = '';
  #format: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };

  constructor(options: PlivoPeerSimulatorOptions = {}) {
    this.#options = options;
    this.#accountId = options.accountId ?? 'MAZDQ1ZJY0ZDA2ZTJMZA';
    this.#epochMs = options.epochMs ?? Date.now();
    this.#checkpointEvent = options.checkpointEvent ?? 'playedStream';
  }

  /** The id of the stream announced by the last `start`, if any. */
  get streamId(): string | undefined {
    return this.#streamId;
  }

  get callId(): string | undefined {
    return this.#callId;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    switch (event.type) {
      case 'call_start':
        return [this.#start(event)];
      case 'audio':
        return [this.#media(event)];
      case 'dtmf':
        return [
          JSON.stringify({
            event: 'dtmf',
            sequenceNumber: this.#next(),
            streamId: this.#activeStream(),
            dtmf: { digit: event.digit },
          }),
        ];
      case 'playback_ack':
        return [
          JSON.stringify({
            event: this.#checkpointEvent,
            sequenceNumber: this.#next(),
            streamId: this.#activeStream(),
            name: event.name,
          }),
        ];
      case 'playback_cleared':
        return [
          JSON.stringify({ event: 'clearedAudio', sequenceNumber: this.#next(), streamId: this.#activeStream() }),
        ];
      case 'call_end':
      case 'flow_control':
        return [];
    }
  }

  /**
   * Frames a Plivo bridge must refuse as malformed (for `errors.malformed` of the conformance
   * harness): a media payload that is not base64, a playback checkpoint without its name, a dtmf
   * without a digit, and a binary frame (Plivo sends JSON text only).
   */
  malformedFrames(): Array<string | Uint8Array> {
    const id = JSON.stringify(this.#streamId ?? '00000000-0000-0000-0000-000000000000');
    return [
      `{"event":"media","streamId":${id},"media":{"track":"inbound","payload":"%%% not base64 %%%"}}`,
      `{"event":"${this.#checkpointEvent}","streamId":${id}}`,
      `{"event":"dtmf","streamId":${id},"dtmf":{}}`,
      Uint8Array.of(0x7b, 0x7d),
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, invalid, 'stream frames must be JSON text, not binary');
    const message = readFrameObject(frame, invalid);
    if (this.#streamId === undefined) invalid('no stream is active yet (no start was sent)', frame);
    const event = message['event'];
    if (event === 'playAudio') {
      checkExactKeys(message, ['event', 'media'], ['streamId'], 'playAudio', frame, invalid);
      checkOutboundStreamId(message, 'streamId', this.#streamId, frame, invalid, { required: false });
      const media = message['media'];
      if (!isJsonObject(media)) invalid('playAudio.media is not an object', frame);
      checkExactKeys(media, ['contentType', 'sampleRate', 'payload'], [], 'playAudio.media', frame, invalid);
      const { contentType, sampleRate, payload } = media;
      if (typeof contentType !== 'string' || plivoEncoding(contentType) === undefined)
        invalid('media.contentType must be audio/x-l16 or audio/x-mulaw', frame);
      if (plivoEncoding(contentType) !== this.#format.encoding) {
        invalid(`media.contentType ${contentType} is not the stream's ${plivoContentType(this.#format)}`, frame);
      }
      if (typeof sampleRate !== 'number') invalid('media.sampleRate must be a number', frame);
      if (sampleRate !== this.#format.sampleRate)
        invalid(`media.sampleRate ${sampleRate} is not the stream's ${this.#format.sampleRate}`, frame);
      if (typeof payload !== 'string') invalid('media.payload is not a string', frame);
      const bytes = decodeMediaPayload(payload, frame, invalid);
      if (this.#format.encoding === 'l16' && bytes.byteLength % 2 !== 0)
        invalid(`L16 payload of ${bytes.byteLength} bytes is not whole samples`, frame);
      return bytes.byteLength === 0 ? [] : [{ type: 'audio', payload: bytes }];
    }
    if (event === 'checkpoint') {
      checkExactKeys(message, ['event', 'streamId', 'name'], [], 'checkpoint', frame, invalid);
      checkOutboundStreamId(message, 'streamId', this.#streamId, frame, invalid);
      const name = message['name'];
      if (typeof name !== 'string' || name.length === 0) invalid('checkpoint.name is not a non-empty string', frame);
      return [{ type: 'mark', name }];
    }
    if (event === 'clearAudio') {
      checkExactKeys(message, ['event', 'streamId'], [], 'clearAudio', frame, invalid);
      checkOutboundStreamId(message, 'streamId', this.#streamId, frame, invalid);
      return [{ type: 'clear' }];
    }
    rejectOutboundEvent(event, 'playAudio, checkpoint, clearAudio', frame, invalid);
  }

  #next(): number {
    this.#sequenceNumber += 1;
    return this.#sequenceNumber;
  }

  #activeStream(): string {
    this.#streamId ??= this.#options.streamId ?? globalThis.crypto.randomUUID();
    return this.#streamId;
  }

  #start(event: Extract<CallEvent, { type: 'call_start' }>): string {
    this.#streamId = event.streamId || this.#options.streamId || globalThis.crypto.randomUUID();
    this.#callId = event.callId ?? this.#options.callId ?? globalThis.crypto.randomUUID();
    this.#format = { ...event.format };
    this.#extraHeaders = serializeExtraHeaders(event.customParameters);
    this.#counter.reset();
    const message: Record<string, unknown> = {
      event: 'start',
      sequenceNumber: this.#next(),
      start: {
        callId: this.#callId,
        streamId: this.#streamId,
        accountId: this.#accountId,
        tracks: ['inbound'],
        mediaFormat: { encoding: plivoContentType(event.format), sampleRate: event.format.sampleRate },
      },
      extra_headers: this.#extraHeaders,
    };
    return JSON.stringify(message);
  }

  #media(event: Extract<CallEvent, { type: 'audio' }>): string {
    const position = this.#counter.next(event, Math.round(event.payload.byteLength / bytesPerMs(this.#format)));
    const timestamp = this.#epochMs + position.timestampMs;
    return JSON.stringify({
      event: 'media',
      sequenceNumber: this.#next(),
      streamId: this.#activeStream(),
      media: {
        track: 'inbound',
        timestamp: String(timestamp),
        chunk: position.chunk,
        payload: base64Encode(event.payload),
      },
      extra_headers: this.#extraHeaders,
    });
  }
}
