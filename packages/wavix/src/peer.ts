import {
  ConfigError,
  ProtocolError,
  base64Encode,
  durationMs,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import {
  peerAudioConverter,
  PeerMediaCounter,
  assertTextFrame,
  checkExactKeys,
  checkOutboundStreamId,
  readFrameObject,
  readOutboundMark,
  readOutboundMedia,
  rejectOutboundEvent,
  type PeerSimulator,
} from '@switchboard/core/protocol';
import { WAVIX_AUDIO_FORMAT, readWavixFrameMs } from './protocol.js';

export type WavixPeerSimulatorOptions = {
  /** `stream_id` used when a `call_start` event carries an empty `streamId`. Generated when absent. */
  streamId?: string;
  /** `call_id` used when a `call_start` event has no `callId`. Generated when absent. */
  callId?: string;
  /**
   * The stream's `stream_type`: `twoway` (default) takes audio back; `oneway` only sends, and this
   * simulator then refuses every frame the bridge sends (code `wavix_oneway_stream`).
   */
  streamType?: 'oneway' | 'twoway';
  /**
   * `both`: after each caller frame, an `outbound`-track frame of as much audio as the call hears
   * (what the bridge sent, silence when nothing), numbered from the same `chunk` counter as the
   * caller's (Wavix does not say whether it numbers the channels apart). Default `inbound`: a
   * two-way stream carries the inbound channel only. With `both`, `start` names `channel: "both"`.
   */
  tracks?: 'inbound' | 'both';
  /**
   * The `channel` named in `start`. Default `inbound`: Wavix streams only the inbound channel of a
   * two-way stream whatever was asked (its AsyncAPI example shows `both`).
   */
  channel?: 'inbound' | 'outbound' | 'both';
  /**
   * The length of every media message the bridge must send, in ms (default 20, as the protocol's
   * `frameMs`). A message of any other length is refused with code `wavix_invalid_chunk`.
   */
  frameMs?: number;
  /**
   * The format of the audio events passed to `encodeInbound` (μ-law, A-law or L16 at any rate),
   * converted to Wavix's PCM16 24 kHz. Default: already PCM16 24 kHz.
   */
  inputFormat?: AudioFormat;
  /**
   * Called with each stream this simulator starts: its ids and the `customParameters` of the
   * `call_start` event, which Wavix's `start` cannot carry. A test hands them to the bridge the
   * way an application does (the stream URL's query, or what it kept when it answered the call).
   */
  onStart?: (stream: { streamId: string; callId: string; customParameters: Record<string, string> }) => void;
  /** Clock for `event_time`, in ms since the epoch; default `Date.now`. */
  now?: () => number;
};

/** Code of the ProtocolError raised for an outbound frame Wavix would not accept. */
export const WAVIX_INVALID_FRAME_CODE = 'wavix_invalid_frame';
/** Code of the ProtocolError raised for a media message that is not exactly one frame of whole samples. */
export const WAVIX_INVALID_CHUNK_CODE = 'wavix_invalid_chunk';
/** Code of the ProtocolError raised for any frame sent on a one-way stream. */
export const WAVIX_ONEWAY_STREAM_CODE = 'wavix_oneway_stream';

function invalid(message: string, frame: unknown, code = WAVIX_INVALID_FRAME_CODE): never {
  throw new ProtocolError('wavix', message, { frame, code });
}

function uuid(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * Wavix's side of a call stream, for tests and offline development.
 *
 * `encodeInbound` writes what Wavix sends (`connected`, `start`, `media` of PCM16 24 kHz with
 * `media.chunk` and `media.track`, `mark` echoes, `stop`), each with `event_time` and the stream's
 * `sequence_number`; Wavix has no DTMF on the stream, so a `dtmf` event writes nothing.
 * `decodeOutbound` accepts `media`, `mark` and `clear` only, with exactly the documented fields,
 * and REFUSES (as `ProtocolError`s) what Wavix would drop or play badly: a `stream_id` that names
 * another stream (Wavix drops such frames silently: here the loss is loud), a media message that
 * is not exactly `frameMs` of whole samples (`wavix_invalid_chunk`), any frame before `start`,
 * and anything at all on a one-way stream (`wavix_oneway_stream`).
 */
export class WavixPeerSimulator implements PeerSimulator {
  readonly #options: WavixPeerSimulatorOptions;
  readonly #frameBytes: number;
  readonly #input: AudioFormat;
  readonly #now: () => number;
  #convert: (bytes: Uint8Array) => Uint8Array;
  #connected = false;
  #sequenceNumber = 0;
  readonly #counter = new PeerMediaCounter();
  #streamId: string | undefined;
  #callId: string | undefined;
  /** Audio the bridge sent and the call has not yet heard on the outbound track (`tracks: 'both'`). */
  #heard: Uint8Array[] = [];

  constructor(options: WavixPeerSimulatorOptions = {}) {
    this.#options = options;
    const streamType = options.streamType ?? 'twoway';
    if (streamType !== 'oneway' && streamType !== 'twoway')
      throw new ConfigError('WavixPeerSimulator: streamType must be "oneway" or "twoway"');
    this.#frameBytes = readWavixFrameMs(options.frameMs, 'WavixPeerSimulator') * 48;
    this.#input = options.inputFormat ?? this.format;
    this.#now = options.now ?? Date.now;
    this.#convert = peerAudioConverter(this.#input, WAVIX_AUDIO_FORMAT);
    const tracks = options.tracks ?? 'inbound';
    if (tracks !== 'inbound' && tracks !== 'both')
      throw new ConfigError('WavixPeerSimulator: tracks must be "inbound" or "both"');
  }

  /** The wire format: PCM16 24 kHz mono. */
  get format(): AudioFormat {
    return { ...WAVIX_AUDIO_FORMAT };
  }

  /** The active stream's `stream_id`, once a `start` was sent. */
  get streamId(): string | undefined {
    return this.#streamId;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    const frames: string[] = [];
    if (!this.#connected) {
      this.#connected = true;
      frames.push(JSON.stringify({ event: 'connected', event_time: this.#eventTime() }));
    }
    switch (event.type) {
      case 'call_start':
        frames.push(this.#start(event));
        break;
      case 'audio': {
        const wire = this.#convert(event.payload);
        if (wire.byteLength === 0) break;
        const { chunk, timestampMs } = this.#counter.next(event, durationMs(this.format, wire.byteLength));
        frames.push(
          this.#frame('media', {
            media: {
              payload: base64Encode(wire),
              track: 'inbound',
              // An RTP timestamp: samples at 24 kHz.
              timestamp: Math.round(timestampMs * 24),
              chunk,
            },
          }),
        );
        if (this.#options.tracks === 'both') frames.push(this.#outboundFrame(wire.byteLength));
        break;
      }
      case 'playback_ack':
        frames.push(this.#frame('mark', { mark: { name: event.name } }));
        break;
      case 'call_end':
        frames.push(this.#frame('stop', {}));
        break;
      case 'dtmf':
      case 'playback_cleared':
      case 'flow_control':
        break;
    }
    return frames;
  }

  /**
   * Frames a Wavix bridge must refuse as malformed (for `errors.malformed` of the conformance
   * harness): a media payload that is not base64, half a sample of audio, a mark without a name,
   * and a binary frame (Wavix sends JSON text only).
   */
  malformedFrames(): Array<string | Uint8Array> {
    const id = JSON.stringify(this.#streamId ?? '00000000-0000-0000-0000-000000000000');
    return [
      `{"event":"media","stream_id":${id},"media":{"payload":"%%% not base64 %%%","track":"inbound","chunk":1}}`,
      `{"event":"media","stream_id":${id},"media":{"payload":"AAAA","track":"inbound","chunk":1}}`,
      `{"event":"mark","stream_id":${id},"mark":{}}`,
      Uint8Array.of(0x7b, 0x7d),
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, invalid, 'stream frames must be JSON text, not binary');
    if (this.#options.streamType === 'oneway')
      invalid(
        'a one-way stream takes nothing back: start it with stream_type "twoway"',
        frame,
        WAVIX_ONEWAY_STREAM_CODE,
      );
    const message = readFrameObject(frame, invalid);
    const event = message['event'];
    let command: OutboundCommand;
    if (event === 'media') {
      checkExactKeys(message, ['event', 'media'], ['stream_id'], 'the frame', frame, invalid);
      const bytes = readOutboundMedia(message, frame, invalid);
      if (bytes.byteLength !== this.#frameBytes) {
        invalid(
          `media message of ${bytes.byteLength} bytes: each must carry one frame of ${this.#frameBytes} bytes (PCM16 24 kHz)`,
          frame,
          WAVIX_INVALID_CHUNK_CODE,
        );
      }
      command = { type: 'audio', payload: bytes };
      if (this.#options.tracks === 'both') this.#heard.push(bytes);
    } else if (event === 'mark') {
      checkExactKeys(message, ['event', 'mark'], ['stream_id'], 'the frame', frame, invalid);
      command = { type: 'mark', name: readOutboundMark(message, frame, invalid, { nonEmpty: true }) };
    } else if (event === 'clear') {
      checkExactKeys(message, ['event'], ['stream_id'], 'the frame', frame, invalid);
      command = { type: 'clear' };
    } else {
      rejectOutboundEvent(event, 'media, mark and clear', frame, invalid);
    }
    if (this.#streamId === undefined) invalid('no stream is active yet (no start was sent)', frame);
    checkOutboundStreamId(message, 'stream_id', this.#streamId, frame, invalid, { required: false });
    return [command];
  }

  /** An `outbound`-track frame of `bytes` of what the call hears next. */
  #outboundFrame(bytes: number): string {
    const out = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes && this.#heard.length > 0) {
      const next = this.#heard[0]!;
      const take = Math.min(next.byteLength, bytes - filled);
      out.set(next.subarray(0, take), filled);
      filled += take;
      if (take === next.byteLength) this.#heard.shift();
      else this.#heard[0] = next.subarray(take);
    }
    const { chunk, timestampMs } = this.#counter.next({}, durationMs(this.format, bytes));
    const media = { payload: base64Encode(out), track: 'outbound', timestamp: Math.round(timestampMs * 24), chunk };
    return this.#frame('media', { media });
  }

  #eventTime(): string {
    return new Date(this.#now()).toISOString();
  }

  #frame(event: string, body: Record<string, unknown>): string {
    return JSON.stringify({
      event,
      event_time: this.#eventTime(),
      call_id: this.#activeCall(),
      stream_id: this.#activeStream(),
      sequence_number: this.#next(),
      ...body,
    });
  }

  #next(): number {
    this.#sequenceNumber += 1;
    return this.#sequenceNumber;
  }

  #activeStream(): string {
    this.#streamId ??= this.#options.streamId ?? uuid();
    return this.#streamId;
  }

  #activeCall(): string {
    this.#callId ??= this.#options.callId ?? uuid();
    return this.#callId;
  }

  #start(event: Extract<CallEvent, { type: 'call_start' }>): string {
    this.#streamId = event.streamId || this.#options.streamId || uuid();
    this.#callId = event.callId ?? this.#options.callId ?? uuid();
    // A new stream: counters restart and the converter forgets the old stream's filter state.
    this.#counter.reset();
    this.#sequenceNumber = 0;
    this.#heard = [];
    this.#convert = peerAudioConverter(this.#input, WAVIX_AUDIO_FORMAT);
    this.#options.onStart?.({
      streamId: this.#streamId,
      callId: this.#callId,
      customParameters: { ...event.customParameters },
    });
    return JSON.stringify({
      event: 'start',
      event_time: this.#eventTime(),
      call_id: this.#callId,
      stream_id: this.#streamId,
      stream_type: this.#options.streamType ?? 'twoway',
      channel: this.#options.channel ?? (this.#options.tracks === 'both' ? 'both' : 'inbound'),
      sequence_number: this.#next(),
    });
  }
}
