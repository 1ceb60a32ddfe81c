import { Framer } from '../audio/framer.js';
import { bytesPerSample, concatBytes, durationMs, silenceByte } from '../audio/pcm.js';
import { outboundTranscoder, type Transcoder } from '../codec.js';
import { systemClock, type Clock } from '../clock.js';
import type { MediaConnection } from '../connection.js';
import type { PlaybackKey, PlaybackLedger } from '../ledger.js';
import { logger } from '../log.js';
import type { CallMetrics } from '../metrics.js';
import type { CallQuality } from '../quality/call-quality.js';
import type { AudioFormat, MediaStreamProtocol, OutboundCommand } from '../types.js';
import type { ResolvedOptions } from './options.js';

const log = logger('core');

/** How often a transport holding output for a full socket looks at it again, ms (wall clock). */
const BACKPRESSURE_POLL_MS = 20;

/** What the output path needs from the transport it belongs to. */
export interface OutputHost {
  readonly metrics: CallMetrics;
  /** Keeps the playout clock that underruns and the pacing lead are measured on. */
  readonly quality?: CallQuality;
  readonly protocol: MediaStreamProtocol;
  readonly connection: MediaConnection;
  readonly ledger: PlaybackLedger;
  /** The transport's clock (pacing runs on it). */
  readonly clock: Clock;
  now(): number;
  emitError(error: unknown): void;
  ended(): boolean;
  /** A command left for the carrier (for the transport's media observers). */
  sent?(command: OutboundCommand): void;
  /** The carrier stopped reading: more audio is waiting for it than the transport may hold. */
  overflow(bufferedBytes: number): void;
}

export type OutputOptions = Pick<ResolvedOptions, 'outputHighWaterBytes' | 'outputMaxBufferedBytes'>;

/**
 * Model audio on its way to the carrier: transcoding, framing to the carrier's frame rules,
 * playback marks, and holding audio back while the carrier paused the flow, while pacing keeps
 * the carrier's queue short (`capabilities.pacing`), or while the socket's own buffer is full.
 */
export class OutputPath {
  readonly #host: OutputHost;
  readonly #options: OutputOptions;

  #format!: AudioFormat;
  #outbound!: Transcoder;
  #framer!: Framer;

  /**
   * Audio waiting to leave, in order, while something holds it back. Empty otherwise: audio then
   * leaves as it comes.
   */
  #queue: Array<{ frames: Uint8Array[]; key: PlaybackKey }> = [];
  #queuedBytes = 0;
  #paused = false;
  #backpressured = false;
  #pumpTimer: unknown;
  #pollTimer: unknown;
  #speechStoppedAt: number | undefined;

  constructor(host: OutputHost, options: OutputOptions, format: AudioFormat) {
    this.#host = host;
    this.#options = options;
    this.setFormat(format);
  }

  /** The carrier's audio format, as output is framed in it now. */
  get format(): AudioFormat {
    return this.#format;
  }

  /** Bytes of audio held in the transport (paused flow, pacing, full socket). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes short of a whole carrier frame, waiting for more audio. */
  get pendingBytes(): number {
    return this.#framer.pendingBytes;
  }

  setFormat(format: AudioFormat): void {
    this.#format = format;
    this.#outbound = outboundTranscoder(format);
    this.#framer = this.#createFramer(format);
  }

  /**
   * True when audio may leave for the carrier at once: none of the model's is waiting or short of
   * a frame, the carrier has not paused the flow, its socket is not full, and the call is on.
   */
  get open(): boolean {
    return (
      this.#queue.length === 0 &&
      this.#framer.pendingBytes === 0 &&
      !this.#paused &&
      !this.#socketFull() &&
      !this.#host.ended() &&
      !this.#host.connection.closed
    );
  }

  /**
   * A whole clip in the carrier's format, cut into the carrier's frames (the last one padded),
   * each at most one frame duration long where the carrier sets one: the units injected audio
   * is paced in.
   */
  clipUnits(audio: Uint8Array): Uint8Array[] {
    const framer = this.#createFramer(this.#format);
    const frames = framer.push(audio);
    frames.push(...framer.flush(true));
    return this.#splitUnits(frames);
  }

  /**
   * One pass of a looped clip (what was left of the pass before, then the clip) cut as
   * {@link clipUnits} cuts a clip, but with no padding: `rest`, short of a frame, begins the next
   * pass, so that the loop runs on with no silence between its passes.
   */
  loopUnits(audio: Uint8Array): { units: Uint8Array[]; rest: Uint8Array } {
    const framer = this.#createFramer(this.#format);
    const units = this.#splitUnits(framer.push(audio));
    return { units, rest: framer.flush(false)[0] ?? new Uint8Array(0) };
  }

  #splitUnits(frames: Uint8Array[]): Uint8Array[] {
    const unit = this.#frameUnitBytes();
    if (unit === undefined) return frames;
    const units: Uint8Array[] = [];
    for (const frame of frames) {
      if (frame.byteLength <= unit) units.push(frame);
      else for (let at = 0; at < frame.byteLength; at += unit) units.push(frame.subarray(at, at + unit));
    }
    return units;
  }

  /**
   * Sends units of a clip now (see {@link clipUnits}), joined into frames as large as the carrier
   * takes, with a mark after them where the carrier acknowledges playback. Not a reply: the
   * response latency is not measured by it.
   */
  sendUnits(units: Uint8Array[], key: PlaybackKey): void {
    if (units.length > 0) this.#writeAudio(this.#joinFrames(units), key, true, false);
  }

  /** The model said the caller stopped speaking: the next audio sent measures the response latency. */
  speechStopped(): void {
    this.#speechStoppedAt = this.#host.now();
  }

  /** Model audio (model format) for `key`. */
  push(key: PlaybackKey, modelAudio: Uint8Array): void {
    this.#sendAudioFrames(this.#framer.push(this.#outbound.convert(modelAudio)), key);
  }

  /** End of an audio part: send what the framer holds, padded to a whole frame. */
  flush(key: PlaybackKey): void {
    const tail = this.#outbound.flush();
    const frames = tail.byteLength > 0 ? this.#framer.push(tail) : [];
    frames.push(...this.#framer.flush(true));
    this.#sendAudioFrames(frames, key);
  }

  /** Forgets the converter's and framer's state (a cancelled part). */
  reset(): void {
    this.#outbound.reset();
    this.#framer.reset();
  }

  /** Drops everything not yet sent (a barge-in, the end of the call); returns its size in bytes. */
  discard(): number {
    const bytes = this.#framer.pendingBytes + this.#dropQueue();
    this.reset();
    return bytes;
  }

  /** A new stream: a pause the old one asked for does not hold it. */
  newStream(): void {
    this.#paused = false;
  }

  flowControl(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    log('carrier flow %s', paused ? 'paused' : 'resumed');
    if (paused) {
      this.#host.metrics.flowPauses++;
      this.#cancelPump();
    } else {
      this.#pump();
    }
  }

  /** Encodes and sends one command; false when it could not be sent. */
  send(command: OutboundCommand): boolean {
    const { connection, protocol, metrics } = this.#host;
    if (connection.closed) return false;
    let frames: Array<string | Uint8Array>;
    try {
      frames = protocol.encode(command);
    } catch (error) {
      this.#host.emitError(error);
      return false;
    }
    if (frames.length === 0) return false;
    try {
      for (const frame of frames) {
        connection.send(frame);
        metrics.framesOut++;
      }
    } catch (error) {
      this.#host.emitError(error);
      return false;
    }
    if (command.type === 'clear') this.#host.quality?.cleared();
    this.#host.sent?.(command);
    return true;
  }

  /** The call ended: nothing more leaves. Returns the bytes that never did. */
  end(): number {
    this.#cancelPoll();
    return this.discard();
  }

  #createFramer(format: AudioFormat): Framer {
    const rules = this.#host.protocol.capabilities.frame ?? {};
    const multipleOf = Math.max(rules.multipleOf ?? bytesPerSample(format), this.#frameUnitBytes(format) ?? 0);
    return new Framer({ minBytes: rules.minBytes, maxBytes: rules.maxBytes, multipleOf }, silenceByte(format));
  }

  #socketFull(): boolean {
    return this.#host.connection.bufferedAmount > this.#options.outputHighWaterBytes;
  }

  #sendAudioFrames(frames: Uint8Array[], key: PlaybackKey): void {
    if (frames.length === 0) return;
    if (this.#queue.length > 0 || this.#paused || this.#host.protocol.capabilities.pacing || this.#socketFull()) {
      // Queued in units of the carrier's frame duration, so pacing can hold to its lead exactly
      // even where the carrier takes large frames.
      const unit = this.#frameUnitBytes();
      const units: Uint8Array[] = [];
      for (const frame of frames) {
        this.#queuedBytes += frame.byteLength;
        if (unit === undefined || frame.byteLength <= unit) units.push(frame);
        else for (let at = 0; at < frame.byteLength; at += unit) units.push(frame.subarray(at, at + unit));
      }
      this.#queue.push({ frames: units, key });
      if (this.#overflowed()) return;
      this.#pump();
      return;
    }
    this.#writeAudio(frames, key, true);
  }

  /**
   * True (and the host told) when more audio waits for a carrier that is not reading than the
   * transport may hold: the socket's own buffer, plus what the transport holds while that buffer
   * is over its high-water mark. Audio held on purpose (pacing, a carrier's paused flow) while
   * the socket drains does not count: a long reply is not a carrier that stopped reading.
   */
  #overflowed(): boolean {
    const max = this.#options.outputMaxBufferedBytes;
    if (max === null) return false;
    const socket = this.#host.connection.bufferedAmount;
    const buffered = socket > this.#options.outputHighWaterBytes ? socket + this.#queuedBytes : socket;
    if (buffered <= max) return false;
    this.#host.overflow(buffered);
    return true;
  }

  /** Sends frames now: the audio and its mark leave in one socket write where the connection can batch. */
  #writeAudio(frames: Uint8Array[], key: PlaybackKey, withMark: boolean, reply = true): void {
    const connection = this.#host.connection;
    try {
      connection.cork?.();
    } catch (error) {
      this.#host.emitError(error);
    }
    try {
      this.#sendAudioAndMark(frames, key, withMark, reply);
    } finally {
      try {
        connection.uncork?.();
      } catch (error) {
        this.#host.emitError(error);
      }
    }
  }

  #sendAudioAndMark(frames: Uint8Array[], key: PlaybackKey, markAfter: boolean, reply: boolean): void {
    const metrics = this.#host.metrics;
    let bytes = 0;
    let unsent = 0;
    for (const frame of frames) {
      if (unsent === 0 && this.send({ type: 'audio', payload: frame })) bytes += frame.byteLength;
      else unsent += frame.byteLength;
    }
    metrics.outputUnsentBytes += unsent;
    if (bytes === 0) return;
    metrics.audioBytesOut += bytes;
    const ms = durationMs(this.#format, bytes);
    this.#host.quality?.audioSent(ms, reply ? key.responseId : undefined);
    if (reply && this.#speechStoppedAt !== undefined) {
      metrics.responseLatenciesMs.push(this.#host.now() - this.#speechStoppedAt);
      this.#speechStoppedAt = undefined;
    }
    const withMark = markAfter && this.#host.protocol.capabilities.playbackAck === 'mark';
    const mark = this.#host.ledger.recordSent(key, ms, withMark);
    if (mark) this.send({ type: 'mark', name: mark });
  }

  /**
   * Sends queued audio while the carrier accepts it: everything when only a paused flow or a full
   * socket held it, up to `pacing.leadMs` ahead of the playout clock otherwise, then waits until
   * half of that lead has played. A chunk's mark follows its last frame.
   */
  #pump(): void {
    this.#cancelPump();
    const pacing = this.#host.protocol.capabilities.pacing;
    const ledger = this.#host.ledger;
    while (this.#queue.length > 0 && !this.#paused && !this.#host.ended()) {
      if (this.#socketFull()) {
        this.#holdForSocket();
        return;
      }
      const chunk = this.#queue[0]!;
      const queuedMs = pacing ? ledger.queuedMs() : 0;
      let room = pacing ? pacing.leadMs - queuedMs : Infinity;
      // A frame that would overshoot the lead waits, unless the carrier has nothing left to play.
      if (room < durationMs(this.#format, chunk.frames[0]!.byteLength) && queuedMs > 0) break;
      const batch: Uint8Array[] = [];
      while (chunk.frames.length > 0) {
        const ms = durationMs(this.#format, chunk.frames[0]!.byteLength);
        if (batch.length > 0 && ms > room) break;
        batch.push(chunk.frames.shift()!);
        room -= ms;
        this.#queuedBytes -= batch[batch.length - 1]!.byteLength;
      }
      const last = chunk.frames.length === 0;
      if (last) this.#queue.shift();
      this.#writeAudio(this.#joinFrames(batch), chunk.key, last);
    }
    if (this.#queue.length > 0 && !this.#paused && !this.#host.ended() && pacing) {
      // Wake once the carrier's queue is down to half the lead, or lower where the next frame would
      // not fit in the room that leaves (to empty for a frame longer than the lead): sooner only polls.
      const next = durationMs(this.#format, this.#queue[0]!.frames[0]!.byteLength);
      const target = Math.min(pacing.leadMs / 2, Math.max(0, pacing.leadMs - next));
      const wait = Math.max(1, ledger.queuedMs() - target);
      this.#pumpTimer = this.#host.clock.setTimeout(() => {
        this.#pumpTimer = undefined;
        this.#safely(() => this.#pump());
      }, wait);
    }
  }

  /** The socket's buffer is over the high-water mark: look again shortly (on the wall clock: real I/O). */
  #holdForSocket(): void {
    if (!this.#backpressured) {
      this.#backpressured = true;
      this.#host.metrics.backpressureHolds++;
      log('carrier socket full (%d bytes buffered): holding output', this.#host.connection.bufferedAmount);
    }
    if (this.#overflowed() || this.#pollTimer !== undefined) return;
    this.#pollTimer = systemClock.setTimeout(() => {
      this.#pollTimer = undefined;
      if (this.#host.ended()) return;
      if (!this.#socketFull()) this.#backpressured = false;
      this.#safely(() => this.#pump());
    }, BACKPRESSURE_POLL_MS);
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#host.emitError(error);
    }
  }

  /**
   * Bytes of one `frame.ms` of the carrier's audio, in whole samples (an L16 frame never splits a
   * sample), when the carrier sets a frame duration.
   */
  #frameUnitBytes(format: AudioFormat = this.#format): number | undefined {
    const ms = this.#host.protocol.capabilities.frame?.ms;
    return ms ? Math.max(1, Math.round((ms * format.sampleRate) / 1000)) * bytesPerSample(format) : undefined;
  }

  /** Consecutive queued units joined back into frames as large as the carrier takes. */
  #joinFrames(units: Uint8Array[]): Uint8Array[] {
    const maxBytes = this.#host.protocol.capabilities.frame?.maxBytes ?? Infinity;
    const frames: Uint8Array[] = [];
    let group: Uint8Array[] = [];
    let size = 0;
    for (const unit of units) {
      if (group.length > 0 && size + unit.byteLength > maxBytes) {
        frames.push(group.length === 1 ? group[0]! : concatBytes(group));
        group = [];
        size = 0;
      }
      group.push(unit);
      size += unit.byteLength;
    }
    if (group.length > 0) frames.push(group.length === 1 ? group[0]! : concatBytes(group));
    return frames;
  }

  #cancelPump(): void {
    if (this.#pumpTimer !== undefined) {
      this.#host.clock.clearTimeout(this.#pumpTimer);
      this.#pumpTimer = undefined;
    }
  }

  #cancelPoll(): void {
    if (this.#pollTimer !== undefined) {
      systemClock.clearTimeout(this.#pollTimer);
      this.#pollTimer = undefined;
    }
  }

  /** Drops the audio waiting to leave; returns its size in bytes. */
  #dropQueue(): number {
    const bytes = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#backpressured = false;
    this.#cancelPump();
    this.#cancelPoll();
    return bytes;
  }
}
