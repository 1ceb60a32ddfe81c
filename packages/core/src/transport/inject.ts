import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from '../audio/g711.js';
import { bytesPerSample, concatBytes, durationMs, pcm16FromBytes, pcm16ToBytes } from '../audio/pcm.js';
import { Resampler } from '../audio/resampler.js';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { ItemPlayback, PlaybackKey, PlaybackLedger } from '../ledger.js';
import { logger } from '../log.js';
import type { CallMetrics } from '../metrics.js';
import type { AudioFormat } from '../types.js';
import type { OutputPath } from './output.js';

const log = logger('core');

/** The prefix of the playback-ledger keys of injected audio (never a model response id). */
export const INJECTED_KEY_PREFIX = 'injected:';

/** How far injected audio is sent ahead of the playout clock at most, ms: it can yield at once. */
export const INJECTED_LEAD_MS = 240;

/** How often a clip whose audio could not leave (paused flow, full socket) looks again, ms. */
const RETRY_MS = 20;

/** True for the ledger key of injected audio. */
export function isInjectedKey(key: PlaybackKey): boolean {
  return key.responseId.startsWith(INJECTED_KEY_PREFIX);
}

/** How {@link TelephonyRealtimeTransport.playAudio} plays a clip. */
export type PlayAudioOptions = {
  /**
   * The format of the audio given. Default: the carrier's current format (an `Int16Array` is
   * taken as L16 samples at the carrier's rate).
   */
  format?: AudioFormat;
  /** A barge-in (the caller starts speaking) stops the clip and clears it. Default true. */
  interruptible?: boolean;
  /** Repeat the clip until `stop()` (hold music). Default false. */
  loop?: boolean;
  /** Shows in the `injected_audio` events and in logs. */
  name?: string;
};

/** Why an injected clip ended. */
export type InjectedAudioEndReason = 'finished' | 'yielded' | 'interrupted' | 'stopped' | 'call_end';

export type InjectedAudioResult = {
  id: string;
  name?: string;
  /** Audio of the clip sent to the carrier, ms. */
  sentMs: number;
  /** Audio of the clip the caller heard, ms (acknowledged, or by the playout clock). */
  playedMs: number;
  reason: InjectedAudioEndReason;
};

/** A clip playing into the call (see {@link TelephonyRealtimeTransport.playAudio}). */
export interface InjectedAudio {
  readonly id: string;
  /** Stops feeding the clip; what the carrier already has plays out. */
  stop(): void;
  /** Settles (never rejects) once the clip ended and what was sent of it played or was cleared. */
  readonly done: Promise<InjectedAudioResult>;
}

/** `injected_audio` on the transport (and on `*`): a clip started, or ended. */
export type InjectedAudioEvent =
  | { type: 'injected_audio'; id: string; name?: string; phase: 'start' }
  | ({ type: 'injected_audio'; phase: 'end' } & InjectedAudioResult);

/** What injected audio needs from the transport it belongs to. */
export interface InjectorHost {
  readonly metrics: CallMetrics;
  readonly clock: Clock;
  readonly ledger: PlaybackLedger;
  readonly output: OutputPath;
  /** The carrier's audio format now. */
  format(): AudioFormat;
  /** The carrier clears its queue on `clear` (else what it was sent plays out). */
  canClear(): boolean;
  /** The carrier's own pacing lead, where it declares one. */
  pacingLeadMs(): number | undefined;
  ended(): boolean;
  /** The carrier's stream has started (audio can be addressed to it). */
  streaming(): boolean;
  emit(event: InjectedAudioEvent): void;
  emitError(error: unknown): void;
}

type ClipState = 'feeding' | 'draining' | 'over';

class Clip implements InjectedAudio {
  readonly id: string;
  readonly key: PlaybackKey;
  readonly name: string | undefined;
  readonly interruptible: boolean;
  readonly loop: boolean;
  /** The clip in the carrier's frames (of a loop: one pass), cut once the carrier's stream is known. */
  units: Uint8Array[] | undefined;
  /** A looped clip in the carrier's format, and what its last pass left short of a frame. */
  loopAudio: Uint8Array | undefined;
  loopRest: Uint8Array = new Uint8Array(0);
  readonly audio: Uint8Array | Int16Array;
  readonly format: AudioFormat | undefined;
  readonly done: Promise<InjectedAudioResult>;
  state: ClipState = 'feeding';
  reason: InjectedAudioEndReason = 'finished';
  next = 0;
  sentMs = 0;
  timer: unknown;
  resolve!: (result: InjectedAudioResult) => void;
  readonly #stop: (clip: Clip) => void;

  constructor(id: string, audio: Uint8Array | Int16Array, options: PlayAudioOptions, stop: (clip: Clip) => void) {
    this.id = id;
    this.key = { responseId: id, itemId: id, contentIndex: 0 };
    this.name = options.name;
    this.interruptible = options.interruptible ?? true;
    this.loop = options.loop ?? false;
    this.audio = audio;
    this.format = options.format;
    this.#stop = stop;
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  stop(): void {
    this.#stop(this);
  }
}

/**
 * Audio that is not the model's, played into the call: each clip converted to the carrier's
 * format once, cut into frames, and fed a little ahead of the playout clock (at most
 * {@link INJECTED_LEAD_MS}) so that it can stop at once. It is accounted for in the playback
 * ledger under its own key (`injected:<n>`), so what the caller heard of it is exact, and the
 * model is never told about it. A clip stops feeding when the model's audio arrives (`yielded`;
 * what the carrier already has of it plays out first, at most the lead), on `stop()`, when the
 * call is hung up (a looping clip), and a barge-in clears an interruptible clip.
 */
export class Injector {
  readonly #host: InjectorHost;
  readonly #clips = new Map<string, Clip>();
  #count = 0;

  constructor(host: InjectorHost) {
    this.#host = host;
  }

  /** True while no clip is being fed. */
  get idle(): boolean {
    for (const clip of this.#clips.values()) if (clip.state === 'feeding') return false;
    return true;
  }

  play(audio: Uint8Array | Int16Array, options: PlayAudioOptions = {}): InjectedAudio {
    checkPlayOptions(audio, options);
    // A copy: the caller may reuse its buffer while the clip plays.
    const id = `${INJECTED_KEY_PREFIX}${++this.#count}`;
    const clip = new Clip(id, audio.slice(), options, (c) => this.#stopFeeding(c, 'stopped'));
    this.#clips.set(id, clip);
    log('injected audio %s%s%s', id, clip.name ? ` (${clip.name})` : '', clip.loop ? ', looped' : '');
    this.#emit({ type: 'injected_audio', id, ...(clip.name !== undefined ? { name: clip.name } : {}), phase: 'start' });
    if (this.#host.ended()) this.#finish(clip, 'call_end', 0);
    else this.#feed(clip);
    return clip;
  }

  /** Stops every looping clip (the call is being hung up). */
  stopLoops(): void {
    for (const clip of [...this.#clips.values()]) if (clip.loop) this.#stopFeeding(clip, 'stopped');
  }

  /** The model's audio is about to leave: every clip being fed yields to it. */
  modelAudio(): void {
    if (this.#clips.size === 0) return;
    for (const clip of [...this.#clips.values()]) this.#stopFeeding(clip, 'yielded');
  }

  /** An ack came back: a clip waiting for its audio to play may be over. */
  acked(): void {
    if (this.#clips.size === 0) return;
    for (const clip of [...this.#clips.values()]) if (clip.state === 'draining') this.#checkPlayed(clip);
  }

  /**
   * A barge-in is about to clear the carrier and forget the ledger (`items` is the ledger as it
   * was): every clip still on the line ends `interrupted` at what the caller heard of it.
   */
  cleared(items: ItemPlayback[], carrierCleared: boolean): void {
    const canClear = carrierCleared && this.#host.canClear();
    for (const clip of [...this.#clips.values()]) {
      const item = items.find((i) => i.responseId === clip.id);
      const heard = item ? (canClear ? item.playedMs : item.sentMs) : clip.sentMs;
      this.#finish(clip, clip.state === 'feeding' || canClear ? 'interrupted' : clip.reason, heard);
    }
  }

  /**
   * Whether a barge-in now has injected audio to stop: an interruptible clip being fed or with
   * audio not yet played. A clip that is not interruptible keeps playing when nothing else is.
   */
  interruptible(items: ItemPlayback[]): boolean {
    for (const clip of this.#clips.values()) {
      if (!clip.interruptible) continue;
      if (clip.state === 'feeding') return true;
      const item = items.find((i) => i.responseId === clip.id);
      if (item && (item.awaitingAck || item.playedMs < item.sentMs)) return true;
    }
    return false;
  }

  /** The call ended: every clip ends with `call_end`, at what was played of it by now. */
  end(): void {
    const items = this.#clips.size > 0 ? this.#host.ledger.snapshot() : [];
    for (const clip of [...this.#clips.values()]) {
      const item = items.find((i) => i.responseId === clip.id);
      this.#finish(clip, 'call_end', item ? item.playedMs : 0);
    }
  }

  #leadMs(): number {
    const pacing = this.#host.pacingLeadMs();
    return pacing !== undefined ? Math.min(pacing, INJECTED_LEAD_MS) : INJECTED_LEAD_MS;
  }

  /** Sends what fits in the lead, then waits for the playout clock to make room. */
  #feed(clip: Clip): void {
    this.#cancelTimer(clip);
    if (clip.state !== 'feeding') return;
    const { output, ledger, metrics } = this.#host;
    if (this.#host.ended()) return;
    if (!output.open || !this.#host.streaming()) {
      this.#schedule(clip, RETRY_MS);
      return;
    }
    if (!clip.units) {
      const audio = toCarrierFormat(clip.audio, clip.format, this.#host.format(), clip.loop);
      if (clip.loop) {
        clip.loopAudio = audio;
        nextPass(clip, output);
      } else clip.units = output.clipUnits(audio);
      if (clip.units!.length === 0) return this.#finish(clip, 'finished', 0);
    }
    let units = clip.units!;
    const lead = this.#leadMs();
    const format = output.format;
    let room = lead - ledger.queuedMs();
    const batch: Uint8Array[] = [];
    let batchMs = 0;
    while (clip.state === 'feeding') {
      if (clip.next >= units.length) {
        if (!clip.loop) break;
        units = nextPass(clip, output);
      }
      const unit = units[clip.next]!;
      const ms = durationMs(format, unit.byteLength);
      // One unit always goes when the carrier has nothing left to play.
      if (ms > room && (batch.length > 0 || room < lead)) break;
      batch.push(unit);
      batchMs += ms;
      room -= ms;
      clip.next++;
    }
    if (batch.length > 0) {
      output.sendUnits(batch, clip.key);
      clip.sentMs += batchMs;
      metrics.injectedAudioMs += batchMs;
    }
    if (!clip.loop && clip.next >= units.length) {
      clip.state = 'draining';
      clip.reason = 'finished';
      this.#checkPlayed(clip);
      return;
    }
    // Wake once half the lead has played (or the next unit fits).
    const next = durationMs(format, units[clip.next % units.length]!.byteLength);
    const target = Math.min(lead / 2, Math.max(0, lead - next));
    this.#schedule(clip, Math.max(1, ledger.queuedMs() - target));
  }

  #schedule(clip: Clip, ms: number): void {
    this.#cancelTimer(clip);
    clip.timer = this.#host.clock.setTimeout(() => {
      clip.timer = undefined;
      try {
        if (clip.state === 'feeding') this.#feed(clip);
        else if (clip.state === 'draining') this.#checkPlayed(clip);
      } catch (error) {
        this.#host.emitError(error);
      }
    }, ms);
  }

  #cancelTimer(clip: Clip): void {
    if (clip.timer !== undefined) {
      this.#host.clock.clearTimeout(clip.timer);
      clip.timer = undefined;
    }
  }

  #stopFeeding(clip: Clip, reason: InjectedAudioEndReason): void {
    if (clip.state !== 'feeding') return;
    this.#cancelTimer(clip);
    clip.state = 'draining';
    clip.reason = reason;
    log('injected audio %s %s after %dms sent', clip.id, reason, Math.round(clip.sentMs));
    this.#checkPlayed(clip);
  }

  /** A clip no longer fed is over once the carrier played what it was sent of it. */
  #checkPlayed(clip: Clip): void {
    if (clip.state !== 'draining') return;
    if (clip.sentMs === 0) return this.#finish(clip, clip.reason, 0);
    const item = this.#host.ledger.snapshot().find((i) => i.responseId === clip.id);
    if (!item) return this.#finish(clip, clip.reason, clip.sentMs);
    if (!item.awaitingAck && item.playedMs >= item.sentMs) return this.#finish(clip, clip.reason, item.sentMs);
    this.#schedule(clip, Math.max(RETRY_MS, Math.min(100, item.sentMs - item.playedMs)));
  }

  #finish(clip: Clip, reason: InjectedAudioEndReason, playedMs: number): void {
    if (clip.state === 'over') return;
    this.#cancelTimer(clip);
    clip.state = 'over';
    this.#clips.delete(clip.id);
    // Its items are forgotten once played: a long call keeps no bookkeeping for old clips.
    this.#host.ledger.responseDone(clip.id);
    const result: InjectedAudioResult = {
      id: clip.id,
      ...(clip.name !== undefined ? { name: clip.name } : {}),
      sentMs: round(clip.sentMs),
      playedMs: round(Math.min(playedMs, clip.sentMs)),
      reason,
    };
    clip.resolve(result);
    this.#emit({ type: 'injected_audio', phase: 'end', ...result });
  }

  #emit(event: InjectedAudioEvent): void {
    try {
      this.#host.emit(event);
    } catch (error) {
      this.#host.emitError(error);
    }
  }
}

/**
 * The next pass of a looped clip: what the last one left short of a frame, then the clip, cut into
 * whole frames (as many passes as make one, for a clip shorter than a frame).
 */
function nextPass(clip: Clip, output: OutputPath): Uint8Array[] {
  const audio = clip.loopAudio!;
  clip.next = 0;
  if (audio.byteLength === 0) return (clip.units = []);
  let cut = output.loopUnits(concatBytes([clip.loopRest, audio]));
  while (cut.units.length === 0) cut = output.loopUnits(concatBytes([cut.rest, audio]));
  clip.loopRest = cut.rest;
  return (clip.units = cut.units);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function checkPlayOptions(audio: unknown, options: PlayAudioOptions): void {
  if (!(audio instanceof Uint8Array || audio instanceof Int16Array)) {
    throw new ConfigError('playAudio takes a Uint8Array (in `format`) or an Int16Array (L16 samples).');
  }
  if (options === null || typeof options !== 'object') throw new ConfigError('playAudio options must be an object.');
  const format = options.format;
  if (format !== undefined) {
    if (!['pcmu', 'pcma', 'l16'].includes(format?.encoding)) {
      throw new ConfigError(`playAudio: unsupported encoding ${String(format?.encoding)}.`);
    }
    if (!(Number.isInteger(format.sampleRate) && format.sampleRate >= 8000 && format.sampleRate <= 48000)) {
      throw new ConfigError(
        `playAudio: the sample rate must be an integer from 8000 to 48000, got ${String(format.sampleRate)}.`,
      );
    }
  }
}

/**
 * The clip in the carrier's format: decoded, resampled and encoded where the formats differ. A
 * clip to `loop` is resampled as the loop sounds once it runs: its end leads into its start, with
 * no filter delay before it nor filter tail after it.
 */
function toCarrierFormat(
  audio: Uint8Array | Int16Array,
  given: AudioFormat | undefined,
  carrier: AudioFormat,
  loop: boolean,
): Uint8Array {
  const from: AudioFormat =
    audio instanceof Int16Array
      ? { encoding: 'l16', sampleRate: given?.sampleRate ?? carrier.sampleRate, channels: 1 }
      : (given ?? carrier);
  if (audio instanceof Uint8Array && from.encoding === carrier.encoding && from.sampleRate === carrier.sampleRate) {
    // Whole samples only; a copy, so that the caller may reuse its buffer.
    const whole = audio.byteLength - (audio.byteLength % bytesPerSample(carrier));
    return audio.slice(0, whole);
  }
  let samples: Int16Array =
    audio instanceof Int16Array
      ? audio
      : from.encoding === 'pcmu'
        ? decodeMuLaw(audio)
        : from.encoding === 'pcma'
          ? decodeALaw(audio)
          : pcm16FromBytes(audio.slice(0, audio.byteLength & ~1));
  if (from.sampleRate !== carrier.sampleRate) {
    const resampler = new Resampler(from.sampleRate, carrier.sampleRate);
    if (loop && samples.length > 0) {
      // Primed with the clip itself for longer than the filter reaches back: the pass after that
      // is the loop's steady state.
      const prime = Math.ceil((2 * resampler.delaySamples * from.sampleRate) / carrier.sampleRate) + 2;
      for (let primed = 0; primed < prime; primed += samples.length) resampler.process(samples);
      samples = resampler.process(samples);
      return encode(samples, carrier);
    }
    const head = resampler.process(samples);
    const tail = resampler.flush();
    const joined = new Int16Array(head.length + tail.length);
    joined.set(head);
    joined.set(tail, head.length);
    samples = joined;
  }
  return encode(samples, carrier);
}

function encode(samples: Int16Array, carrier: AudioFormat): Uint8Array {
  if (carrier.encoding === 'pcmu') return encodeMuLaw(samples);
  if (carrier.encoding === 'pcma') return encodeALaw(samples);
  return pcm16ToBytes(samples).slice();
}
