import {
  ConfigError,
  ProtocolError,
  base64Encode,
  bytesPerMs,
  durationMs,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
  swapBytes16,
} from '@switchboard/core';
import {
  PeerMediaCounter,
  type PeerSimulator,
  assertTextFrame,
  checkExactKeys,
  readFrameObject,
  readOutboundMark,
  readOutboundMedia,
  rejectOutboundEvent,
} from '@switchboard/core/protocol';
import { telnyxCodecName, telnyxEncoding, type L16ByteOrder, type TelnyxCodec } from './protocol.js';

export type TelnyxPeerSimulatorOptions = {
  /** Stream id used when a `call_start` event carries an empty `streamId`. Generated when absent. */
  streamId?: string;
  /** `call_control_id` used when a `call_start` event has no `callId`. Generated when absent. */
  callControlId?: string;
  /** `start.user_id`. Generated when absent. */
  userId?: string;
  /**
   * Telnyx does not guarantee the order of media frames. With `swapEvery: n` (n ≥ 2) the peer
   * delivers media frames `k` and `k + 1` the wrong way round whenever `k % n === n / 2`
   * (rounded down), deterministically. 0 (default) keeps the order. A call that ends right
   * after a held frame without any further event (no `stop`) loses it, as it would on the wire.
   */
  swapEvery?: number;
  /** The codec Telnyx expects back (`stream_bidirectional_codec`). Default: the codec of the call's start. */
  bidirectionalCodec?: TelnyxCodec;
  /** Byte order of L16 payloads on the wire. Default `big-endian` (RTP). */
  l16ByteOrder?: L16ByteOrder;
};

/** Code of the ProtocolError raised for an outbound frame Telnyx would not accept. */
export const TELNYX_INVALID_FRAME_CODE = 'telnyx_invalid_frame';

/** Shortest and longest RTP chunk Telnyx plays from the bridge, in ms. */
const MIN_CHUNK_MS = 20;
const MAX_CHUNK_MS = 30_000;

function invalid(message: string, frame: unknown): never {
  throw new ProtocolError('telnyx', message, { frame, code: TELNYX_INVALID_FRAME_CODE });
}

function uuid(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * Telnyx's side of a bidirectional media stream, for tests and offline development.
 *
 * `encodeInbound` writes the frames Telnyx sends for a call event (`connected` first, string
 * counters, its own media chunk counter and clock, L16 in network byte order), optionally
 * swapping media frames as Telnyx's unordered delivery may (`swapEvery`). `decodeOutbound` checks
 * what the bridge sends as strictly as the spec describes it and throws a `ProtocolError` (code
 * `telnyx_invalid_frame`) for anything Telnyx would not play: unknown fields, bad base64, audio
 * chunks shorter than 20 ms or longer than 30 s, L16 that is not whole samples.
 *
 * Playback timing (a mark comes back once the audio before it played, at once when nothing is
 * queued; a clear returns the queued marks) is the caller's side of a replay, which the
 * conformance harness runs on its playout clock.
 */
export class TelnyxPeerSimulator implements PeerSimulator {
  readonly #options: TelnyxPeerSimulatorOptions;
  readonly #userId: string;
  readonly #swapEvery: number;
  readonly #bigEndian: boolean;
  #connected = false;
  #sequenceNumber = 0;
  readonly #counter = new PeerMediaCounter();
  /** Media frames sent in this stream (for `swapEvery`). */
  #mediaFrames = 0;
  #streamId: string | undefined;
  #callControlId: string | undefined;
  #format: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
  #outEncoding: AudioFormat['encoding'] = 'pcmu';
  /** A media frame held back to be delivered after the next one. */
  #held: string | undefined;

  constructor(options: TelnyxPeerSimulatorOptions = {}) {
    this.#options = options;
    this.#userId = options.userId ?? uuid();
    const swap = options.swapEvery ?? 0;
    if (!Number.isInteger(swap) || swap < 0 || swap === 1)
      throw new ConfigError('TelnyxPeerSimulator: swapEvery must be 0 or an integer ≥ 2');
    this.#swapEvery = swap;
    if (options.bidirectionalCodec !== undefined && telnyxEncoding(options.bidirectionalCodec) === undefined) {
      throw new ConfigError('TelnyxPeerSimulator: bidirectionalCodec must be PCMU, PCMA or L16');
    }
    this.#bigEndian = (options.l16ByteOrder ?? 'big-endian') === 'big-endian';
  }

  /** The id of the stream announced by the last `start`, if any. */
  get streamId(): string | undefined {
    return this.#streamId;
  }

  /** The `call_control_id` announced by the last `start`, if any. */
  get callControlId(): string | undefined {
    return this.#callControlId;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    const frames: string[] = [];
    if (!this.#connected) {
      this.#connected = true;
      frames.push(JSON.stringify({ event: 'connected', version: '1.0.0' }));
    }
    if (event.type === 'audio') {
      const frame = this.#media(event);
      this.#mediaFrames += 1;
      if (this.#held !== undefined) {
        frames.push(frame, this.#held);
        this.#held = undefined;
      } else if (this.#swapEvery > 0 && this.#mediaFrames % this.#swapEvery === Math.floor(this.#swapEvery / 2)) {
        this.#held = frame;
      } else {
        frames.push(frame);
      }
      return frames;
    }
    // Anything else goes after a held media frame: only media frames trade places.
    if (this.#held !== undefined) {
      frames.push(this.#held);
      this.#held = undefined;
    }
    switch (event.type) {
      case 'call_start':
        frames.push(this.#start(event));
        break;
      case 'dtmf':
        frames.push(this.#frame('dtmf', { dtmf: { digit: event.digit } }));
        break;
      case 'playback_ack':
        frames.push(this.#frame('mark', { mark: { name: event.name } }));
        break;
      case 'call_end':
        frames.push(this.#frame('stop', { stop: { user_id: this.#userId, call_control_id: this.#activeCall() } }));
        break;
      case 'playback_cleared':
      case 'flow_control':
        // Telnyx confirms a clear only by returning the queued marks; it has no flow control.
        break;
    }
    return frames;
  }

  /**
   * Frames a Telnyx bridge must refuse as malformed (for `errors.malformed` of the conformance
   * harness): a media payload that is not base64, a media frame without its media object, a dtmf
   * without a digit, and a binary frame (Telnyx sends JSON text only).
   */
  malformedFrames(): Array<string | Uint8Array> {
    const id = JSON.stringify(this.#streamId ?? '00000000-0000-0000-0000-000000000000');
    return [
      `{"event":"media","stream_id":${id},"media":{"track":"inbound","payload":"%%% not base64 %%%"}}`,
      `{"event":"media","stream_id":${id}}`,
      `{"event":"dtmf","stream_id":${id},"dtmf":{}}`,
      Uint8Array.of(0x7b, 0x7d),
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, invalid, 'media stream frames must be JSON text, not binary');
    const message = readFrameObject(frame, invalid);
    const event = message['event'];
    // The stream id is not needed on frames to Telnyx; when present it must name the stream.
    if (message['stream_id'] !== undefined && message['stream_id'] !== this.#streamId)
      invalid('stream_id does not match the active stream', frame);
    if (this.#streamId === undefined) invalid('no stream is active yet (no start was sent)', frame);

    if (event === 'media') {
      checkExactKeys(message, ['event', 'media'], ['stream_id'], 'the frame', frame, invalid);
      const bytes = readOutboundMedia(message, frame, invalid);
      const out: AudioFormat = { encoding: this.#outEncoding, sampleRate: this.#format.sampleRate, channels: 1 };
      if (out.encoding === 'l16' && bytes.byteLength % 2 !== 0)
        invalid(`L16 payload of ${bytes.byteLength} bytes is not whole samples`, frame);
      const ms = durationMs(out, bytes.byteLength);
      if (ms < MIN_CHUNK_MS - 1e-9 || ms > MAX_CHUNK_MS) {
        invalid(
          `an RTP chunk must hold 20 ms to 30 s of audio, got ${bytes.byteLength} bytes (${ms.toFixed(2)} ms)`,
          frame,
        );
      }
      return [{ type: 'audio', payload: out.encoding === 'l16' && this.#bigEndian ? swapBytes16(bytes) : bytes }];
    }
    if (event === 'mark') {
      checkExactKeys(message, ['event', 'mark'], ['stream_id'], 'the frame', frame, invalid);
      return [{ type: 'mark', name: readOutboundMark(message, frame, invalid, { nonEmpty: true }) }];
    }
    if (event === 'clear') {
      checkExactKeys(message, ['event'], ['stream_id'], 'the frame', frame, invalid);
      return [{ type: 'clear' }];
    }
    rejectOutboundEvent(event, 'media, mark and clear', frame, invalid);
  }

  #frame(event: string, body: Record<string, unknown>): string {
    return JSON.stringify({ event, sequence_number: this.#nextSequence(), stream_id: this.#activeStream(), ...body });
  }

  #nextSequence(): string {
    this.#sequenceNumber += 1;
    return String(this.#sequenceNumber);
  }

  #activeStream(): string {
    this.#streamId ??= this.#options.streamId ?? uuid();
    return this.#streamId;
  }

  #activeCall(): string {
    this.#callControlId ??= this.#options.callControlId ?? `v3:${uuid()}`;
    return this.#callControlId;
  }

  #start(event: Extract<CallEvent, { type: 'call_start' }>): string {
    this.#streamId = event.streamId || this.#options.streamId || uuid();
    this.#callControlId = event.callId ?? this.#options.callControlId ?? `v3:${uuid()}`;
    this.#format = { ...event.format };
    const bidirectional = this.#options.bidirectionalCodec;
    this.#outEncoding = bidirectional ? telnyxEncoding(bidirectional)! : event.format.encoding;
    this.#counter.reset();
    this.#mediaFrames = 0;
    const start: Record<string, unknown> = {
      user_id: this.#userId,
      call_control_id: this.#callControlId,
      call_session_id: uuid(),
      tags: [],
      custom_parameters: { ...event.customParameters },
      media_format: {
        encoding: telnyxCodecName(event.format.encoding),
        sample_rate: event.format.sampleRate,
        channels: 1,
      },
    };
    if (event.from !== undefined) start['from'] = event.from;
    if (event.to !== undefined) start['to'] = event.to;
    return JSON.stringify({ event: 'start', sequence_number: this.#nextSequence(), stream_id: this.#streamId, start });
  }

  #media(event: Extract<CallEvent, { type: 'audio' }>): string {
    const { chunk, timestampMs: timestamp } = this.#counter.next(
      event,
      Math.round(event.payload.byteLength / bytesPerMs(this.#format)),
    );
    const payload = this.#format.encoding === 'l16' && this.#bigEndian ? swapBytes16(event.payload) : event.payload;
    return JSON.stringify({
      event: 'media',
      sequence_number: this.#nextSequence(),
      stream_id: this.#activeStream(),
      media: { track: 'inbound', chunk: String(chunk), timestamp: String(timestamp), payload: base64Encode(payload) },
    });
  }
}
