/**
 * The carrier side of a call, simulated: it connects to a bridge's media WebSocket, sends a
 * recorded trace on its clock, plays the bridge's audio back to back in real (or scaled) time,
 * acknowledges marks when the audio before them has played, and honours `clear` the way the
 * carrier does (echoing pending marks, or confirming). It records what the caller heard.
 */
import { performance } from 'node:perf_hooks';
import {
  bytesPerMs,
  durationMs,
  decodeALaw,
  decodeMuLaw,
  pcm16FromBytes,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { WebSocket } from 'ws';
import { base64Length } from './attribution.js';
import { MALFORMED_JSON_FRAMES, malformedFramesFor } from './malformed.js';
import type { Trace } from './trace.js';
import { readTwilioFrame, TWILIO_FORMAT } from './twilio-frames.js';
import { withSilenceInGaps } from './caller-gaps.js';

/** One audio chunk as the carrier played it. Times are stream ms on the caller's clock. */
export type CarrierChunk = {
  receivedAt: number;
  startAt: number;
  durationMs: number;
  bytes: Uint8Array;
  /** The model item this audio belongs to, when the caller is told (see `currentItem`). */
  itemId: string | undefined;
  /** Set when a `clear` cut this chunk: the ms of it that had played. */
  playedMs?: number;
};

export type CarrierClear = {
  /** When the carrier received the clear. */
  at: number;
  /** When the bridge sent it (equals `at` when unknown); `playedByItem` is taken at this time. */
  sentAt: number;
  /** What the caller had heard of each item when the bridge sent the clear, ms. */
  playedByItem: Record<string, number>;
  /** Audio the clear discarded, ms. */
  discardedMs: number;
};

/** An acknowledgement the carrier sent (see {@link CallerLog.acks}). */
export type CarrierAck = { at: number; name: string; frame: number; echo?: true; receivedAt?: number };

export type CallerLog = {
  chunks: CarrierChunk[];
  clears: CarrierClear[];
  marksSent: number;
  acksSent: number;
  /** Outbound frames the carrier rejected (e.g. Twilio warning 31951). */
  rejected: Array<{ at: number; error: string }>;
  /** Commands other than audio, mark and clear (hang-up, DTMF). */
  otherCommands: Array<{ at: number; command: OutboundCommand }>;
  /** The most audio ever queued at the carrier, not yet played, when a chunk arrived (stream ms). */
  maxQueuedMs: number;
  /** When the caller ended the call: sent the trace's `stop`, or hung up without one (stream ms). */
  endedAt: number | undefined;
  closedAt: number | undefined;
  /**
   * When the carrier saw the bridge end the call, before the caller did (stream ms): a `hangup`
   * command (the carrier then ends the call and closes the socket), or the bridge closing the
   * media socket. The caller sends nothing after it.
   */
  bridgeEnded: { at: number; by: 'hangup' | 'close' } | undefined;
  /**
   * When the caller's audio stopped going out for a while: every pause of at least
   * {@link PAUSE_LOG_MS} real ms between two media frames actually sent, in order.
   */
  pauses: CallerPause[];
  /**
   * The furthest the caller's sending fell behind the trace's clock, stream ms (a starved replayer sends late, then in
   * a burst).
   */
  maxBehindMs: number;
  /**
   * The last media frame sent: when (stream ms), and the caller's audio up to its end, ms (see
   * {@link CallerPause.audioMs}).
   */
  lastMedia: { at: number; audioMs: number } | undefined;
  /**
   * Every mark the bridge sent (stream ms, name, and how many chunks of audio had come before it),
   * and every acknowledgement the carrier sent back: when, the carrier's frame that carried it
   * (counting every frame the carrier sent, from 0), whether it only echoed a mark a clear dropped,
   * and when the bridge received that frame, where the bridge tells (stream ms).
   */
  marks: Array<{ at: number; name: string; chunkCount: number }>;
  acks: CarrierAck[];
  /**
   * Every frame on the carrier's socket, both ways, with when (stream ms): `sent` by the carrier
   * (as on the wire, after the adapter's peer encoded it), `received` from the bridge.
   */
  wire: Array<{ at: number; dir: 'sent' | 'received'; data: string | Uint8Array }>;
  /** The malformed frames the caller sent (`errors.malformed`), in order, with when each went out (stream ms). */
  malformed: Array<{ at: number; frame: string | Uint8Array }>;
  /** Each trace frame as it went out (the trace's own form, before any encoding), with when (stream ms). */
  traceFramesSent: Array<{ at: number; frame: Record<string, unknown> }>;
};

/** A pause in the caller's audio, as actually sent (see {@link CallerLog.pauses}). */
export type CallerPause = {
  /** When media went out again (stream ms). */
  at: number;
  /** How long no media went out, real ms. */
  realMs: number;
  /**
   * Where the caller's audio stood when it paused, ms: the audio sent before it, with the silence
   * of the trace's timestamp gaps (which the bridge pads), as in the audio the model must get.
   */
  audioMs: number;
  /**
   * How late the first frame after the pause went out against the trace's clock, stream ms: a
   * pause the trace itself holds (a carrier that sends nothing in a silence) is not late, one of a
   * starved replayer is.
   */
  behindMs: number;
};

/** The shortest pause in the caller's sending that {@link CallerLog.pauses} records, real ms. */
export const PAUSE_LOG_MS = 100;

/** The longest timestamp gap counted as silence in the caller's position (as `traceInputAudio` counts it), ms. */
const MAX_GAP_MS = 10_000;

export type CallerSimulatorOptions = {
  /** The carrier side of the adapter's protocol. */
  peer: PeerSimulator;
  /**
   * A fresh carrier side of the same protocol: after a second `start`, one for the old stream
   * reads the bridge's frames that still name it. Without it, such frames are rejected.
   */
  createPeer?: () => PeerSimulator;
  /** How the carrier treats pending marks on `clear`. */
  ackOnClear: ProtocolCapabilities['ackOnClear'];
  /** Send the trace's Twilio frames verbatim (the adapter speaks Twilio Media Streams). */
  twilioFrames: boolean;
  /** The carrier's audio format (for playback durations and the heard-audio render). */
  format: AudioFormat;
  /** Replay speed; 1 is real time. Default 1. */
  speed?: number;
  /** Stream clock (ms). Default: real time since construction × speed. */
  now?: () => number;
  /** Delay before echoing the marks pending at a `clear`, stream ms (a slow carrier). Default 0. */
  clearEchoDelayMs?: number;
  /**
   * Whether the carrier acknowledges marks at all. False: it never does (a carrier without marks, or one that loses
   * them). Default true.
   */
  markAcks?: boolean;
  /**
   * The model item of the next `durationMs` of audio the carrier got (attributes carrier audio to
   * items); `frame` is the carrier frame that carried it: its index, and when the bridge sent it
   * where known (see `frameSentAt`).
   */
  currentItem?: (durationMs: number, frame: { index: number; sentAt: number | undefined }) => string | undefined;
  /**
   * When the bridge sent its n-th frame (stream ms), if known: a `clear` then cuts playback where
   * it stood when the bridge decided, not when the frame arrived.
   */
  frameSentAt?: (index: number) => number | undefined;
  /**
   * When the bridge took the caller's `k`-th `start` (from 0, stream ms), or undefined while it has
   * not: with `frameSentAt`, a frame naming the stream before a second `start` is read as that
   * stream's only when the bridge sent it before it took the new `start`.
   */
  startTakenAt?: (k: number) => number | undefined;
  /** Observes every command the bridge sends, with the frame that carried it (as for `currentItem`). */
  onCommand?: (command: OutboundCommand, at: number, frame: { index: number; sentAt: number | undefined }) => void;
};

/** The default malformed frames of a JSON carrier (see `malformed.ts`). */
export const MALFORMED_FRAMES: readonly string[] = MALFORMED_JSON_FRAMES;

type PendingMark = { name: string; timer: NodeJS.Timeout | undefined };

/** How often a held caller looks again whether to go on, real ms. */
const HOLD_POLL_MS = 5;

/** How far ahead among the trace's frames a late media frame is looked for. */
const LATE_LOOKAHEAD = 16;

/** A media frame's `media.chunk` as a number (NaN when it has none). */
function mediaChunk(frame: Record<string, unknown>): number {
  return Number((frame.media as { chunk?: string } | undefined)?.chunk);
}

/**
 * The frames with every stream's media in chunk order: each media frame's slot (its `t` and place
 * among the other frames) keeps its time but takes the media that belongs there.
 */
export function inChunkOrder(frames: Trace['frames']): Trace['frames'] {
  const out = frames.slice();
  let slots: number[] = [];
  const flush = () => {
    const media = slots.map((i) => out[i]!.frame);
    if (media.every((f) => Number.isFinite(mediaChunk(f)))) {
      media.sort((a, b) => mediaChunk(a) - mediaChunk(b));
      slots.forEach((i, k) => {
        out[i] = { t: out[i]!.t, frame: media[k]! };
      });
    }
    slots = [];
  };
  out.forEach((entry, i) => {
    if (entry.frame.event === 'start') flush();
    else if (entry.frame.event === 'media') slots.push(i);
  });
  flush();
  return out;
}

/** A caller's log before anything happened on the call. */
export function emptyCallerLog(): CallerLog {
  return {
    chunks: [],
    clears: [],
    marksSent: 0,
    acksSent: 0,
    rejected: [],
    otherCommands: [],
    maxQueuedMs: 0,
    endedAt: undefined,
    closedAt: undefined,
    bridgeEnded: undefined,
    pauses: [],
    maxBehindMs: 0,
    lastMedia: undefined,
    marks: [],
    acks: [],
    wire: [],
    malformed: [],
    traceFramesSent: [],
  };
}

export class CallerSimulator {
  readonly log: CallerLog = emptyCallerLog();
  readonly now: () => number;
  readonly speed: number;
  readonly #options: CallerSimulatorOptions;
  readonly #bytesPerMs: number;
  #queueEnd = 0;
  /**
   * The end of the carrier's queue as the bridge's pacing sees it: as `#queueEnd`, except that a
   * clear empties it when the bridge sent it, not when it arrived (the loopback's delay of a clear
   * is no audio the bridge sent ahead of the lead).
   */
  #paceEnd = 0;
  #pending: PendingMark[] = [];
  #timers = new Set<NodeJS.Timeout>();
  #socket: WebSocket | undefined;
  #framesReceived = 0;
  /** Frames the carrier sent on its socket, every kind. */
  #framesSent = 0;
  /**
   * The last `start` told to the carrier side, and the carrier side of the stream before it (see
   * `#fromPreviousStream`).
   */
  #lastStart: CallEvent | undefined;
  #previousStream: PeerSimulator | undefined;
  /** How many `start`s were told to the carrier side. */
  #starts = 0;
  /** For each clear in `log.clears`: the index of the frame that carried it, and the chunks received before it. */
  #clearFrames: Array<{ frameIndex: number; chunkCount: number }> = [];
  /** For each chunk in `log.chunks`: the index of the frame that carried it. */
  #chunkFrames: number[] = [];

  constructor(options: CallerSimulatorOptions) {
    this.#options = options;
    this.speed = options.speed ?? 1;
    const t0 = performance.now();
    this.now = options.now ?? (() => (performance.now() - t0) * this.speed);
    this.#bytesPerMs = bytesPerMs(options.format);
  }

  /** Opens the media WebSocket to the bridge. */
  async connect(url: string, headers?: Record<string, string>): Promise<void> {
    const socket = new WebSocket(url, headers ? { headers } : undefined);
    this.#socket = socket;
    socket.on('message', (data, isBinary) => this.#onFrame(isBinary ? new Uint8Array(data as Buffer) : String(data)));
    socket.on('close', () => {
      const at = this.now();
      this.log.closedAt ??= at;
      // Closed by the bridge while the caller was still on the line: the bridge ended the call.
      if (this.log.endedAt === undefined) this.log.bridgeEnded ??= { at, by: 'close' };
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
  }

  /**
   * Sends the trace's frames on their clock. Resolves after the last frame (or when the bridge
   * closes the socket).
   */
  async play(
    trace: Trace,
    options: {
      injectMalformedAt?: number;
      onProgress?: (line: string) => void;
      /** Called after each trace frame is sent, with the frame and the stream time. */
      onFrameSent?: (frame: Record<string, unknown>, at: number) => void;
      /** Stop after this much of the trace (stream ms). */
      untilMs?: number;
      /**
       * The carrier streams in real time with no timestamps (Vonage, Asterisk): where the trace's
       * timestamps jump, send silence frames on the clock instead of nothing.
       */
      realTimeSilence?: boolean;
      /**
       * The carrier's media frames carry no sequence number, so it can only deliver them in order
       * (one ordered connection): media frames a trace delivers out of order are sent in order.
       */
      inOrder?: boolean;
      /**
       * Asked before each frame goes out, with its trace time: true holds it (and the rest of the
       * call, which then goes on at the trace's pace from where it was held). See `replyGate`.
       */
      holdAt?: (t: number) => boolean;
    } = {},
  ): Promise<{ framesSent: number; malformedSent: number; lastFrameAt: number | undefined }> {
    const all = options.inOrder ? inChunkOrder(trace.frames) : trace.frames;
    const recorded = options.untilMs === undefined ? all : all.filter((f) => f.t <= options.untilMs!);
    const frames = options.realTimeSilence ? withSilenceInGaps(recorded) : recorded;
    const socket = this.#socket;
    if (!socket) throw new Error('CallerSimulator: connect() first');
    const { peer, twilioFrames } = this.#options;
    let framesSent = 0;
    let malformedSent = 0;
    /** Whether the carrier's frames include binary ones (its media): the default malformed frames follow. */
    let binarySent = false;
    let lastFrameAt: number | undefined;
    let lastProgress = -1;
    const total = frames.at(-1)?.t ?? 0;
    let origin = this.now();
    const encode = (frame: Record<string, unknown>) =>
      readTwilioFrame(frame).flatMap((event) => this.#encodeInbound(event));
    /** What the carrier encoded ahead of delivery: frames of a trace that arrive late. */
    const encodedEarly = new Map<Record<string, unknown>, Array<string | Uint8Array>>();
    // Each frame's chunk (NaN for all but media), and whether any stream delivers media out of
    // chunk order: only then can a frame have late ones after it.
    const chunks = frames.map((f) => (f.frame.event === 'media' ? mediaChunk(f.frame) : NaN));
    let reordered = false;
    for (let k = 0, highest = -Infinity; k < frames.length && !reordered; k++) {
      if (frames[k]!.frame.event === 'start') highest = -Infinity;
      else if (chunks[k]! < highest) reordered = true;
      else if (chunks[k]! > highest) highest = chunks[k]!;
    }
    // The caller's audio as it actually goes out: when each media frame went out, and where the
    // caller's audio stood (each stream in its own format, timestamp gaps counted as the silence
    // the bridge pads them with, as `traceInputAudio` counts them).
    let format: AudioFormat = TWILIO_FORMAT;
    let audioMs = 0;
    let lastTs: { ts: number; ms: number } | undefined;
    const sentMedia = (entry: Trace['frames'][number], at: number) => {
      const frame = entry.frame;
      if (frame.event === 'start') {
        for (const event of readTwilioFrame(frame)) if (event.type === 'call_start') format = event.format;
        lastTs = undefined;
        return;
      }
      const media = frame.media as { payload?: unknown; track?: unknown; timestamp?: unknown } | undefined;
      if (frame.event !== 'media' || media?.track === 'outbound' || typeof media?.payload !== 'string') return;
      const behindMs = Math.max(0, at - origin - entry.t);
      this.log.maxBehindMs = Math.max(this.log.maxBehindMs, behindMs);
      const ms = durationMs(format, base64Length(media.payload));
      const ts = media.timestamp === undefined ? NaN : Number(media.timestamp);
      if (Number.isFinite(ts)) {
        const gap = lastTs && ts >= lastTs.ts ? ts - (lastTs.ts + lastTs.ms) : 0;
        if (gap >= 1) audioMs += Math.min(MAX_GAP_MS, gap);
        lastTs = { ts, ms };
      }
      const last = this.log.lastMedia;
      if (last !== undefined && (at - last.at) / this.speed >= PAUSE_LOG_MS) {
        this.log.pauses.push({ at, realMs: (at - last.at) / this.speed, audioMs, behindMs });
      }
      audioMs += ms;
      this.log.lastMedia = { at, audioMs };
    };
    await new Promise<void>((resolve) => {
      let i = 0;
      let held = false;
      const pump = () => {
        let at = this.now() - origin;
        while (i < frames.length && frames[i]!.t <= at) {
          if (options.holdAt?.(frames[i]!.t)) {
            held = true;
            break;
          }
          if (held) {
            // Released: the call goes on from this frame at the trace's pace.
            held = false;
            origin = this.now() - frames[i]!.t;
            at = frames[i]!.t;
          }
          if (i === options.injectMalformedAt) {
            // The carrier's own malformed frames, else the defaults for a JSON or a binary carrier.
            const malformed = malformedFramesFor(peer, { binary: binarySent, format: this.#options.format });
            for (const bad of malformed) {
              this.log.malformed.push({ at: this.now(), frame: bad });
              this.#send(bad);
            }
            malformedSent += malformed.length;
          }
          const frame = frames[i]!.frame;
          if (twilioFrames) {
            const text = JSON.stringify(frame);
            // Keep the carrier side's notion of the active stream in step with the recorded frames.
            if (frame.event === 'start') for (const event of readTwilioFrame(frame)) this.#encodeInbound(event);
            this.#send(text);
          } else {
            let out = encodedEarly.get(frame);
            encodedEarly.delete(frame);
            if (!out) {
              // A carrier encodes audio in the order it was spoken (its resampler has state), whatever
              // order it then delivers it in: frames spoken earlier but delivered later go first.
              if (reordered && frame.event === 'media') {
                const late: number[] = [];
                for (let j = i + 1; j < Math.min(frames.length, i + LATE_LOOKAHEAD); j++) {
                  const next = frames[j]!.frame;
                  if (next.event === 'start') break;
                  if (next.event === 'media' && chunks[j]! < chunks[i]! && !encodedEarly.has(next)) late.push(j);
                }
                for (const j of late.sort((a, b) => chunks[a]! - chunks[b]!))
                  encodedEarly.set(frames[j]!.frame, encode(frames[j]!.frame));
              }
              out = encode(frame);
            }
            for (const wire of out) {
              if (typeof wire !== 'string') binarySent = true;
              this.#send(wire);
            }
          }
          framesSent++;
          lastFrameAt = this.now();
          sentMedia(frames[i]!, lastFrameAt);
          this.log.traceFramesSent.push({ at: lastFrameAt, frame });
          if (frame.event === 'stop') this.log.endedAt ??= lastFrameAt;
          options.onFrameSent?.(frame, lastFrameAt);
          i++;
        }
        if (options.onProgress && total > 0) {
          const step = Math.floor((Math.min(at, total) / total) * 10);
          if (step !== lastProgress) {
            lastProgress = step;
            options.onProgress(`${trace.header.name}: ${step * 10}%`);
          }
        }
        if (i >= frames.length || socket.readyState !== WebSocket.OPEN) {
          resolve();
          return;
        }
        setTimeout(pump, held ? HOLD_POLL_MS : Math.min(20, Math.max(0, (frames[i]!.t - at) / this.speed)));
      };
      pump();
    });
    return { framesSent, malformedSent, lastFrameAt };
  }

  /**
   * Sends a trace of the adapter's own carrier frame for frame, as recorded (text, JSON or binary),
   * on the trace's clock: the carrier side only keeps its notion of the stream in step with the
   * frames (`protocol` reads them). Malformed frames (the peer's own, else the defaults for a JSON
   * or a binary carrier) go out before frame `injectMalformedAt`. Resolves after the last frame.
   */
  async playVerbatim(
    lines: ReadonlyArray<{ t: number; data: string | Uint8Array }>,
    options: {
      protocol?: MediaStreamProtocol;
      injectMalformedAt?: number;
      onProgress?: (line: string) => void;
      name?: string;
    } = {},
  ): Promise<{ framesSent: number; malformedSent: number; lastFrameAt: number | undefined }> {
    const socket = this.#socket;
    if (!socket) throw new Error('CallerSimulator: connect() first');
    const { peer } = this.#options;
    const binary = lines.some((l) => typeof l.data !== 'string');
    let framesSent = 0;
    let malformedSent = 0;
    let lastFrameAt: number | undefined;
    const origin = this.now();
    const total = lines.at(-1)?.t ?? 0;
    let lastProgress = -1;
    // The caller's audio as it goes out (as in `play`): where it stood, and the pauses in its sending.
    let format: AudioFormat = this.#options.format;
    let audioMs = 0;
    let lastTs: { ts: number; ms: number } | undefined;
    const sentAudio = (events: ReturnType<MediaStreamProtocol['decode']>, at: number, t: number) => {
      for (const event of events) {
        if (event.type === 'call_start') {
          format = event.format;
          lastTs = undefined;
        }
        if (event.type !== 'audio') continue;
        this.log.maxBehindMs = Math.max(this.log.maxBehindMs, Math.max(0, at - origin - t));
        const ms = durationMs(format, event.payload.byteLength);
        if (event.timestampMs !== undefined) {
          const gap = lastTs && event.timestampMs >= lastTs.ts ? event.timestampMs - (lastTs.ts + lastTs.ms) : 0;
          if (gap >= 1) audioMs += Math.min(MAX_GAP_MS, gap);
          lastTs = { ts: event.timestampMs, ms };
        }
        const last = this.log.lastMedia;
        if (last !== undefined && (at - last.at) / this.speed >= PAUSE_LOG_MS) {
          this.log.pauses.push({
            at,
            realMs: (at - last.at) / this.speed,
            audioMs,
            behindMs: Math.max(0, at - origin - t),
          });
        }
        audioMs += ms;
        this.log.lastMedia = { at, audioMs };
      }
    };
    await new Promise<void>((resolve) => {
      let i = 0;
      const pump = () => {
        const at = this.now() - origin;
        while (i < lines.length && lines[i]!.t <= at) {
          if (i === options.injectMalformedAt) {
            const malformed = malformedFramesFor(peer, { binary, format: this.#options.format });
            for (const bad of malformed) {
              this.log.malformed.push({ at: this.now(), frame: bad });
              this.#send(bad);
            }
            malformedSent += malformed.length;
          }
          const { data } = lines[i]!;
          let events: ReturnType<MediaStreamProtocol['decode']> = [];
          try {
            events = options.protocol?.decode(data) ?? [];
          } catch {
            // Not for the carrier side to judge: the bridge gets the frame as recorded.
          }
          for (const event of events) if (event.type === 'call_start') this.#encodeInbound(event);
          this.#send(data);
          framesSent++;
          lastFrameAt = this.now();
          sentAudio(events, lastFrameAt, lines[i]!.t);
          if (events.some((e) => e.type === 'call_end')) this.log.endedAt ??= lastFrameAt;
          i++;
        }
        if (options.onProgress && total > 0) {
          const step = Math.floor((Math.min(at, total) / total) * 10);
          if (step !== lastProgress) {
            lastProgress = step;
            options.onProgress(`${options.name ?? 'trace'}: ${step * 10}%`);
          }
        }
        if (i >= lines.length || socket.readyState !== WebSocket.OPEN) {
          resolve();
          return;
        }
        setTimeout(pump, Math.min(20, Math.max(0, (lines[i]!.t - at) / this.speed)));
      };
      pump();
    });
    return { framesSent, malformedSent, lastFrameAt };
  }

  /** The caller hangs up: closes the media socket. */
  hangUp(): void {
    if (this.#socket && this.#socket.readyState === WebSocket.OPEN) {
      this.log.endedAt ??= this.now();
      this.#socket.close(1000, 'caller hung up');
    }
  }

  /** Stops every timer and drops the socket. */
  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#socket?.terminate();
  }

  /**
   * What the caller heard, as 16-bit PCM at the carrier's rate on the caller's clock: every
   * chunk placed where it played, cut where a `clear` stopped it, silence elsewhere.
   */
  heardAudio(totalMs?: number): { samples: Int16Array; sampleRate: number } {
    const { format } = this.#options;
    const rate = format.sampleRate;
    const end = totalMs ?? Math.max(0, ...this.log.chunks.map((c) => c.startAt + (c.playedMs ?? c.durationMs)));
    const out = new Int16Array(Math.ceil((end * rate) / 1000));
    for (const chunk of this.log.chunks) {
      const pcm =
        format.encoding === 'pcmu'
          ? decodeMuLaw(chunk.bytes)
          : format.encoding === 'pcma'
            ? decodeALaw(chunk.bytes)
            : pcm16FromBytes(chunk.bytes);
      const playedSamples = Math.round(((chunk.playedMs ?? chunk.durationMs) * rate) / 1000);
      const at = Math.round((chunk.startAt * rate) / 1000);
      const n = Math.max(0, Math.min(playedSamples, pcm.length, out.length - at));
      if (n > 0) out.set(pcm.subarray(0, n), at);
    }
    return { samples: out, sampleRate: rate };
  }

  #send(frame: string | Uint8Array): void {
    if (this.#socket?.readyState !== WebSocket.OPEN) return;
    this.#framesSent++;
    this.log.wire.push({ at: this.now(), dir: 'sent', data: frame });
    this.#socket.send(frame);
  }

  /**
   * Judges every clear again at the moment the bridge sent it, once those moments are known (a
   * bridge in another process reports them after the call): `sentAtOf(frameIndex)` gives the
   * stream time the bridge sent its `frameIndex`-th frame. Each chunk is placed again too, as it
   * is when the moments are known during the call: it plays from when the bridge sent it (or when
   * it arrived, if sooner), after the chunk before it, and a clear empties the queue when the
   * bridge sent it. The caller's playout then runs on the media clock, not on when a busy test
   * process got round to reading the frames.
   */
  rejudgeClears(sentAtOf: (frameIndex: number) => number | undefined): void {
    this.#placeChunks(sentAtOf);
    this.log.clears.forEach((clear, k) => {
      const { frameIndex, chunkCount } = this.#clearFrames[k]!;
      const sentAt = Math.min(clear.at, sentAtOf(frameIndex) ?? clear.sentAt);
      clear.sentAt = sentAt;
      clear.playedByItem = this.#playedByItem(this.#clearFrames[k - 1]?.chunkCount ?? 0, chunkCount, sentAt);
    });
  }

  /** Places every chunk again from the bridge's send times (see `rejudgeClears`), with what each clear cut of them. */
  #placeChunks(sentAtOf: (frameIndex: number) => number | undefined): void {
    const chunks = this.log.chunks;
    let queueEnd = 0;
    // The queue as the bridge's pacing sees it: a clear empties it when the bridge sent it.
    let paceEnd = 0;
    let maxQueuedMs = 0;
    let next = 0;
    const placeUntil = (count: number) => {
      for (; next < count; next++) {
        const chunk = chunks[next]!;
        const arrived = Math.min(chunk.receivedAt, sentAtOf(this.#chunkFrames[next]!) ?? chunk.receivedAt);
        chunk.startAt = Math.max(arrived, queueEnd);
        queueEnd = chunk.startAt + chunk.durationMs;
        paceEnd = Math.max(arrived, paceEnd) + chunk.durationMs;
        maxQueuedMs = Math.max(maxQueuedMs, paceEnd - arrived);
      }
    };
    this.log.clears.forEach((clear, k) => {
      const from = this.#clearFrames[k - 1]?.chunkCount ?? 0;
      const to = this.#clearFrames[k]!.chunkCount;
      placeUntil(to);
      const sentAt = Math.min(clear.at, sentAtOf(this.#clearFrames[k]!.frameIndex) ?? clear.sentAt);
      for (let i = from; i < to; i++) {
        const chunk = chunks[i]!;
        const heard = Math.min(chunk.durationMs, Math.max(0, sentAt - chunk.startAt));
        if (heard < chunk.durationMs) chunk.playedMs = heard;
        else delete chunk.playedMs;
      }
      queueEnd = sentAt;
      paceEnd = sentAt;
    });
    placeUntil(chunks.length);
    this.log.maxQueuedMs = maxQueuedMs;
  }

  #onFrame(frame: string | Uint8Array): void {
    const sentAt = this.#options.frameSentAt?.(this.#framesReceived);
    const frameIndex = this.#framesReceived;
    this.#framesReceived++;
    this.log.wire.push({ at: this.now(), dir: 'received', data: frame });
    let commands: OutboundCommand[];
    try {
      commands = this.#options.peer.decodeOutbound(frame);
      // A frame that names the new stream, or one the bridge sent once it knew of it: the old
      // stream is over. One that names no stream (Plivo's audio) says nothing of which it meant.
      if (this.#previousStream && !this.#fromPreviousStream(frame, sentAt)) this.#previousStream = undefined;
    } catch (error) {
      const old = this.#fromPreviousStream(frame, sentAt);
      if (!old) {
        this.log.rejected.push({ at: this.now(), error: (error as Error).message });
        return;
      }
      commands = old;
    }
    for (const command of commands) this.#onCommand(command, sentAt, frameIndex);
  }

  /**
   * What a frame the bridge sent for the stream before a second `start` asks: a frame the bridge
   * sent before it took the new `start` may still name the old stream (it was on its way when the
   * `start` went out), as it would on a real carrier. Where the bridge's send times are unknown,
   * until it has answered on the new stream. Undefined when the frame is no valid frame of the old
   * stream either, or the bridge sent it after it took the new `start`.
   */
  #fromPreviousStream(frame: string | Uint8Array, sentAt: number | undefined): OutboundCommand[] | undefined {
    const takenAt = this.#options.startTakenAt;
    if (sentAt !== undefined && takenAt) {
      const at = takenAt(this.#starts - 1);
      if (at !== undefined && sentAt >= at) return undefined;
    }
    try {
      return this.#previousStream?.decodeOutbound(frame);
    } catch {
      return undefined;
    }
  }

  /**
   * Tells the carrier side of a `start` (and every other event it encodes), keeping the old stream's side for a second
   * `start`.
   */
  #encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    if (event.type === 'call_start') {
      const createPeer = this.#options.createPeer;
      if (this.#lastStart && createPeer) {
        try {
          const old = createPeer();
          old.encodeInbound(this.#lastStart);
          this.#previousStream = old;
        } catch {
          this.#previousStream = undefined;
        }
      }
      this.#lastStart = event;
      this.#starts++;
    }
    return this.#options.peer.encodeInbound(event);
  }

  #onCommand(command: OutboundCommand, sentAt: number | undefined, frameIndex: number): void {
    const at = this.now();
    this.#options.onCommand?.(command, at, { index: frameIndex, sentAt });
    switch (command.type) {
      case 'audio': {
        const durationMs = command.payload.byteLength / this.#bytesPerMs;
        // Playback starts when the bridge sent the audio, where known: the loopback's latency
        // (scaled up by a fast replay) is no part of the bridge's accounting, as for `clear`.
        const sent = Math.min(at, sentAt ?? at);
        const startAt = Math.max(sent, this.#queueEnd);
        this.#queueEnd = startAt + durationMs;
        this.#paceEnd = Math.max(sent, this.#paceEnd) + durationMs;
        this.log.maxQueuedMs = Math.max(this.log.maxQueuedMs, this.#paceEnd - sent);
        this.#chunkFrames.push(frameIndex);
        this.log.chunks.push({
          receivedAt: at,
          startAt,
          durationMs,
          bytes: command.payload,
          itemId: this.#options.currentItem?.(durationMs, { index: frameIndex, sentAt }),
        });
        return;
      }
      case 'mark': {
        this.log.marksSent++;
        this.log.marks.push({ at, name: command.name, chunkCount: this.log.chunks.length });
        const mark: PendingMark = { name: command.name, timer: undefined };
        if (this.#options.markAcks === false) return;
        this.#pending.push(mark);
        mark.timer = this.#after(Math.max(at, this.#queueEnd) - at, () => {
          this.#pending = this.#pending.filter((m) => m !== mark);
          this.#ack(mark.name);
        });
        return;
      }
      case 'clear': {
        // This clear's generation: the chunks received since the clear before it.
        const from = this.#clearFrames.at(-1)?.chunkCount ?? 0;
        this.#clearFrames.push({ frameIndex, chunkCount: this.log.chunks.length });
        this.#clear(at, Math.min(at, sentAt ?? at), from);
        return;
      }
      case 'hangup':
        this.log.otherCommands.push({ at, command });
        // The carrier hangs up: the call is over for the caller, whose socket closes.
        if (this.log.endedAt === undefined) this.log.bridgeEnded ??= { at, by: 'hangup' };
        if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.close(1000, 'call hung up');
        return;
      default:
        this.log.otherCommands.push({ at, command });
    }
  }

  /**
   * What the caller had heard of each item at `sentAt`, ms, over the chunks `from` to `to` of
   * `log.chunks` (one clear's generation).
   */
  #playedByItem(from: number, to: number, sentAt: number): Record<string, number> {
    const playedByItem: Record<string, number> = {};
    for (let i = from; i < to; i++) {
      const chunk = this.log.chunks[i]!;
      const heardWhenSent = Math.min(chunk.durationMs, Math.max(0, sentAt - chunk.startAt));
      if (chunk.itemId) playedByItem[chunk.itemId] = (playedByItem[chunk.itemId] ?? 0) + heardWhenSent;
    }
    return playedByItem;
  }

  /** A `clear` at `at` (sent at `sentAt`) cuts the chunks received since `from`, the previous clear's end. */
  #clear(at: number, sentAt: number, from: number): void {
    let discardedMs = 0;
    // Only the chunks received since the previous clear: earlier ones were played or cut by it.
    const to = this.log.chunks.length;
    for (let i = from; i < to; i++) {
      const chunk = this.log.chunks[i]!;
      // Playback stops at the moment the bridge sent the clear: chunks play from when the bridge
      // sent them, so the clear's way here is not played either (the caller would go on hearing
      // the old audio while it travels, and then hear the audio sent after it that much later,
      // which the bridge can no more know than the way of its audio).
      const heard = Math.min(chunk.durationMs, Math.max(0, sentAt - chunk.startAt));
      if (heard < chunk.durationMs) {
        chunk.playedMs = heard;
        discardedMs += chunk.durationMs - heard;
      }
    }
    this.log.clears.push({ at, sentAt, playedByItem: this.#playedByItem(from, to, sentAt), discardedMs });
    this.#queueEnd = sentAt;
    this.#paceEnd = sentAt;
    const pending = this.#pending;
    this.#pending = [];
    for (const mark of pending) if (mark.timer) clearTimeout(mark.timer);
    if (this.#options.ackOnClear === 'echo-pending') {
      this.#after(this.#options.clearEchoDelayMs ?? 0, () => {
        for (const mark of pending) this.#ack(mark.name, true);
      });
    } else if (this.#options.ackOnClear === 'confirm') {
      for (const frame of this.#options.peer.encodeInbound({ type: 'playback_cleared' })) this.#send(frame);
    }
  }

  #ack(name: string, echo = false): void {
    this.log.acksSent++;
    this.log.acks.push({ at: this.now(), name, frame: this.#framesSent, ...(echo ? { echo: true as const } : {}) });
    for (const frame of this.#options.peer.encodeInbound({ type: 'playback_ack', name })) this.#send(frame);
  }

  #after(streamMs: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        fn();
      },
      Math.max(0, streamMs / this.speed),
    );
    this.#timers.add(timer);
    return timer;
  }
}
