import {
  ConfigError,
  ProtocolError,
  Resampler,
  base64Encode,
  encodeMuLaw,
  pcm16FromBytes,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import {
  assertTextFrame,
  checkExactKeys,
  decodeMediaPayload,
  isJsonObject,
  readFrameObject,
  rejectOutboundEvent,
  type PeerSimulator,
} from '@switchboard/core/protocol';
import { BANDWIDTH_DEFAULT_FRAME_MS, BANDWIDTH_FORMAT } from './protocol.js';

export type BandwidthPeerSimulatorOptions = {
  /** `metadata.streamId` when a `call_start` event carries an empty `streamId`. Generated when absent. */
  streamId?: string;
  /** `metadata.callId` when a `call_start` event has no `callId`. Generated when absent. */
  callId?: string;
  /** `metadata.accountId`. Default a made-up one. */
  accountId?: string;
  /** `metadata.streamName` (the `name` attribute of `<StartStream>`). Default the stream id, as Bandwidth does. */
  streamName?: string;
  /**
   * The `tracks` attribute of `<StartStream>`: `inbound` (default) streams the caller only;
   * `both` adds, after each caller frame, an `outbound` frame of what the call hears (the
   * bridge's own audio, silence between replies), which a bridge must not take for the caller.
   */
  tracks?: 'inbound' | 'both';
  /**
   * Number media frames with `sequenceNumber` (an integer from 1). Default true; Bandwidth's docs
   * do not list the field, reports of live streams show it.
   */
  sequenceNumbers?: boolean;
  /**
   * Refuse a `playAudio` whose audio is not a whole multiple of this many ms (code
   * `bandwidth_invalid_chunk`). Default 20, the protocol's framing; `null` accepts any length.
   */
  frameMs?: number | null;
};

/** Code of the ProtocolError raised for an outbound frame Bandwidth would not accept. */
export const BANDWIDTH_INVALID_FRAME_CODE = 'bandwidth_invalid_frame';
/** Code of the ProtocolError raised for `playAudio` audio that breaks the framing rule. */
export const BANDWIDTH_INVALID_CHUNK_CODE = 'bandwidth_invalid_chunk';

/** Sample rates Bandwidth plays `audio/pcm` at. */
const PCM_RATES = new Set([8000, 16000, 24000]);
/** μ-law silence: the byte of a zero sample. */
const MULAW_SILENCE = 0xff;

function invalid(message: string, frame: unknown, code = BANDWIDTH_INVALID_FRAME_CODE): never {
  throw new ProtocolError('bandwidth', message, { frame, code });
}

function randomId(prefix: string): string {
  const hex = [...globalThis.crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  return `${prefix}-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A `contentType` Bandwidth plays: `audio/pcmu`, or `audio/pcm` with a rate of 8, 16 or 24 kHz. */
function readContentType(value: unknown, frame: unknown): { pcmu: true } | { pcmu: false; rate: number } {
  if (typeof value !== 'string') invalid('media.contentType is not a string', frame);
  const [type, ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type === 'audio/pcmu') {
    if (params.some((p) => p.startsWith('rate=') && p !== 'rate=8000')) invalid('audio/pcmu runs at 8000 Hz', frame);
    return { pcmu: true };
  }
  if (type !== 'audio/pcm')
    invalid(`contentType ${JSON.stringify(value.slice(0, 60))} is not audio/pcmu or audio/pcm`, frame);
  const rateParam = params.find((p) => p.startsWith('rate='));
  const rate = rateParam === undefined ? 8000 : Number(rateParam.slice(5));
  if (!PCM_RATES.has(rate)) invalid('audio/pcm rate must be 8000, 16000 or 24000', frame);
  return { pcmu: false, rate };
}

/**
 * Bandwidth's side of a bidirectional stream, for tests and offline development.
 *
 * `encodeInbound` writes what Bandwidth sends: `start` (metadata with the call and stream ids
 * and one μ-law 8 kHz track per streamed track, `streamParams` when there are any), `media` on the
 * `inbound` track (and, with `tracks: 'both'`, on the `outbound` track), and `stop`. Playback
 * acknowledgements, clear confirmations and DTMF have no frame: Bandwidth sends none.
 *
 * `decodeOutbound` accepts `playAudio` (`media` holding exactly `contentType` and a base64
 * `payload`; `audio/pcmu`, or `audio/pcm` at 8, 16 or 24 kHz, which it converts to μ-law 8 kHz)
 * and `clear` (no other field), and refuses anything else with a `ProtocolError` of code
 * `bandwidth_invalid_frame`: other events, unknown fields, binary frames, empty audio.
 */
export class BandwidthPeerSimulator implements PeerSimulator {
  readonly #options: BandwidthPeerSimulatorOptions;
  readonly #accountId: string;
  readonly #frameMs: number | null;
  #streamId: string | undefined;
  #callId: string | undefined;
  #sequence = 0;
  /** What the call hears next on the outbound track (with `tracks: 'both'`): μ-law bytes not yet echoed. */
  #heard: Uint8Array[] = [];
  readonly #resamplers = new Map<number, Resampler>();

  constructor(options: BandwidthPeerSimulatorOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new ConfigError('BandwidthPeerSimulator: options must be an object');
    if (options.tracks !== undefined && options.tracks !== 'inbound' && options.tracks !== 'both')
      throw new ConfigError('BandwidthPeerSimulator: tracks must be "inbound" or "both"');
    const frameMs = options.frameMs === undefined ? BANDWIDTH_DEFAULT_FRAME_MS : options.frameMs;
    if (frameMs !== null && !(Number.isInteger(frameMs) && frameMs > 0))
      throw new ConfigError('BandwidthPeerSimulator: frameMs must be a positive whole number of ms, or null');
    this.#options = options;
    this.#frameMs = frameMs;
    this.#accountId = options.accountId ?? String(9_000_000 + Math.floor(Math.random() * 999_999));
  }

  /** The wire format: μ-law 8 kHz, the only one Bandwidth documents. */
  get format(): AudioFormat {
    return { ...BANDWIDTH_FORMAT };
  }

  get streamId(): string | undefined {
    return this.#streamId;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    switch (event.type) {
      case 'call_start':
        return [this.#start(event)];
      case 'audio': {
        if (event.payload.byteLength === 0) return [];
        const frames = [this.#media('inbound', event.payload)];
        if (this.#options.tracks === 'both')
          frames.push(this.#media('outbound', this.#nextHeard(event.payload.byteLength)));
        return frames;
      }
      case 'call_end':
        return [JSON.stringify({ eventType: 'stop', metadata: this.#metadata() })];
      case 'dtmf':
      case 'playback_ack':
      case 'playback_cleared':
      case 'flow_control':
        // Bandwidth sends none of these on the stream (DTMF comes by webhook).
        return [];
    }
  }

  /**
   * Frames a Bandwidth bridge must refuse as malformed (for `errors.malformed` of the conformance
   * harness): media whose payload is not base64, media without a payload, a frame without an
   * `eventType`, and a binary frame (Bandwidth sends JSON text only).
   */
  malformedFrames(): Array<string | Uint8Array> {
    return [
      '{"eventType":"media","track":"inbound","payload":"%%% not base64 %%%"}',
      '{"eventType":"media","track":"inbound"}',
      '{"event":"media","payload":"/w=="}',
      Uint8Array.of(0x7b, 0x7d),
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, invalid, 'stream frames must be JSON text, not binary');
    const message = readFrameObject(frame, invalid);
    const eventType = message['eventType'];
    if (eventType === 'clear') {
      checkExactKeys(message, ['eventType'], [], 'the frame', frame, invalid);
      this.#heard = [];
      return [{ type: 'clear' }];
    }
    if (eventType !== 'playAudio') rejectOutboundEvent(eventType, 'playAudio and clear', frame, invalid);
    checkExactKeys(message, ['eventType', 'media'], [], 'the frame', frame, invalid);
    const media = message['media'];
    if (!isJsonObject(media)) invalid('media is not an object', frame);
    checkExactKeys(media, ['contentType', 'payload'], [], 'media', frame, invalid);
    const type = readContentType(media['contentType'], frame);
    const payload = media['payload'];
    if (typeof payload !== 'string' || payload.length === 0) invalid('media.payload is not a non-empty string', frame);
    const bytes = decodeMediaPayload(payload, frame, invalid);
    const audio = type.pcmu ? bytes : this.#pcmToMuLaw(bytes, type.rate, frame);
    if (this.#frameMs !== null && audio.byteLength % (8 * this.#frameMs) !== 0) {
      invalid(
        `playAudio of ${audio.byteLength / 8} ms is not a whole multiple of ${this.#frameMs} ms`,
        frame,
        BANDWIDTH_INVALID_CHUNK_CODE,
      );
    }
    if (this.#options.tracks === 'both') this.#heard.push(audio);
    return [{ type: 'audio', payload: audio }];
  }

  #pcmToMuLaw(bytes: Uint8Array, rate: number, frame: unknown): Uint8Array {
    if (bytes.byteLength % 2 !== 0)
      invalid(`audio/pcm payload of ${bytes.byteLength} bytes is not 16-bit samples`, frame);
    let samples = pcm16FromBytes(bytes);
    if (rate !== 8000) {
      let resampler = this.#resamplers.get(rate);
      if (resampler === undefined) this.#resamplers.set(rate, (resampler = new Resampler(rate, 8000)));
      samples = resampler.process(samples);
    }
    return encodeMuLaw(samples);
  }

  /** `length` bytes of what the call hears now: the bridge's queued audio, then silence. */
  #nextHeard(length: number): Uint8Array {
    const out = new Uint8Array(length).fill(MULAW_SILENCE);
    let at = 0;
    while (at < length && this.#heard.length > 0) {
      const head = this.#heard[0]!;
      const take = Math.min(head.byteLength, length - at);
      out.set(head.subarray(0, take), at);
      at += take;
      if (take === head.byteLength) this.#heard.shift();
      else this.#heard[0] = head.subarray(take);
    }
    return out;
  }

  #media(track: 'inbound' | 'outbound', bytes: Uint8Array): string {
    const frame: Record<string, unknown> = { eventType: 'media', track };
    if (this.#options.sequenceNumbers !== false) {
      this.#sequence += 1;
      frame['sequenceNumber'] = this.#sequence;
    }
    frame['payload'] = base64Encode(bytes);
    return JSON.stringify(frame);
  }

  #metadata(): Record<string, unknown> {
    this.#streamId ??= this.#options.streamId ?? randomId('s');
    this.#callId ??= this.#options.callId ?? randomId('c');
    const format = { encoding: 'audio/PCMU', sampleRate: 8000 };
    const tracks = [{ name: 'inbound', mediaFormat: format }];
    if (this.#options.tracks === 'both') tracks.push({ name: 'outbound', mediaFormat: format });
    return {
      accountId: this.#accountId,
      callId: this.#callId,
      streamId: this.#streamId,
      streamName: this.#options.streamName ?? this.#streamId,
      tracks,
    };
  }

  #start(event: Extract<CallEvent, { type: 'call_start' }>): string {
    this.#streamId = event.streamId || this.#options.streamId || randomId('s');
    this.#callId = event.callId ?? this.#options.callId ?? randomId('c');
    this.#sequence = 0;
    this.#heard = [];
    const frame: Record<string, unknown> = { eventType: 'start', metadata: this.#metadata() };
    if (Object.keys(event.customParameters).length > 0) frame['streamParams'] = { ...event.customParameters };
    return JSON.stringify(frame);
  }
}
