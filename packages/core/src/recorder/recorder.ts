/**
 * The call recorder: writes one call, as the carrier and the bridge exchanged it, in the
 * conformance harness's trace format (v2): a header line, then one line per frame with its time.
 * A Twilio call becomes an ordinary Twilio trace; any other carrier's frames are kept in its own
 * wire format, the header naming the carrier.
 *
 * The transport feeds it through {@link CallRecorder.wrap} (every frame in and out of the carrier
 * socket) and {@link CallRecorder.decoded} (what the carrier's protocol read from the frame, which
 * tells the redaction where the caller's audio and the call's parameters are). It never throws
 * into the call and never waits for its sink.
 */
import { base64Decode, base64Encode } from '../audio/base64.js';
import { interceptConnection, type MediaConnection, type MediaFrame } from '../connection.js';
import { ConfigError, SwitchboardError } from '../errors.js';
import type { AudioFormat, CallEvent } from '../types.js';
import { byteOrderOf, maskedInOrder } from './audio.js';
import {
  redactedLabels,
  RedactionState,
  resolveRedaction,
  type RecordingRedaction,
  type ResolvedRedaction,
} from './redact.js';
import { BoundedLineWriter, type RecordingSink, type RecordingStats } from './sink.js';

/** Default bound of a recording, bytes: 50 MiB, about three hours of a Twilio call. */
export const RECORDING_DEFAULT_MAX_BYTES = 50 * 1024 * 1024;

/** Room kept below `maxBytes` for the note that the recording was truncated. */
const TRUNCATION_RESERVE = 256;

/** Options of a call recording (the transport's `record` option). */
export type CallRecordingOptions = {
  /** Where the lines go: anything with `write(line)`, e.g. Node's `fs.createWriteStream(path)`. */
  sink: RecordingSink;
  /**
   * Most bytes written, header included. Past it no more frames are written, and the last line
   * written says so with an extra key, `"truncated":{"framesDropped":…,"bytesDropped":…}` (each
   * line is handed to the sink when the next one is, the last when the call ends).
   * Default {@link RECORDING_DEFAULT_MAX_BYTES} (50 MiB).
   */
  maxBytes?: number;
  /** What to redact (all on by default, audio replaced by shaped noise); `false` records everything as it was. */
  redact?: RecordingRedaction | false;
  /** The trace's `name`. Default: none (the harness names a trace after its file). */
  name?: string;
  /** The trace's `description`. Default: none. */
  description?: string;
  /** The trace's `source`. Default `'@switchboard/core recorder'`. */
  source?: string;
  /** Whether the sink's `end()` is called when the call ends. Default true. */
  endSink?: boolean;
};

/** What the recorder needs from its transport besides the options. */
export type CallRecorderContext = {
  /** The carrier's wire dialect: the protocol's name (`twilio`, `telnyx`, `vonage`, `sip`, ...). */
  carrier: string;
  /** The carrier's audio format until a `call_start` names one. */
  format: AudioFormat;
  /** Clock of the frames' `t`, ms. Default `Date.now`. */
  now?: () => number;
  /** Told of every recording failure (a sink that threw or rejected). */
  onError?: (error: SwitchboardError) => void;
  /** Source of the noise's randomness, in [0, 1). Default `Math.random`. */
  random?: () => number;
};

type Pending = { frame: MediaFrame; t: number; events: CallEvent[]; decoded: boolean };

/** Checks the options a user gave the transport; throws `ConfigError`. */
export function checkRecordingOptions(options: CallRecordingOptions): void {
  if (!options || typeof options !== 'object' || !options.sink || typeof options.sink.write !== 'function') {
    throw new ConfigError('`record` needs a `sink` with a `write(line)` method (e.g. fs.createWriteStream(path)).');
  }
  const max = options.maxBytes;
  if (max !== undefined && !(typeof max === 'number' && Number.isFinite(max) && max >= 1024)) {
    throw new ConfigError(`\`record.maxBytes\` must be a number of bytes of at least 1024, got ${String(max)}.`);
  }
  const audio = options.redact ? options.redact.audio : undefined;
  if (audio !== undefined && audio !== 'keep' && audio !== 'noise' && audio !== 'silence') {
    throw new ConfigError(`\`record.redact.audio\` must be 'keep', 'noise' or 'silence', got ${String(audio)}.`);
  }
}

/** Records one call as a trace; see the module comment. */
export class CallRecorder {
  readonly #writer: BoundedLineWriter;
  readonly #redaction: ResolvedRedaction;
  readonly #state: RedactionState;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #endSink: boolean;
  /** The carrier's binary frames are RTP packets (SIP): their audio follows a header. */
  readonly #rtp: boolean;
  #format: AudioFormat;
  #t0: number | undefined;
  #lastT = 0;
  #pending: Pending | undefined;
  /** Frames the bridge sent while a carrier frame was being handled: written after it. */
  #held: Array<{ frame: MediaFrame; t: number }> = [];
  #ended = false;
  /** `end()` came while a carrier frame was being handled: end once it is written. */
  #endAfterFrame = false;

  constructor(options: CallRecordingOptions, context: CallRecorderContext) {
    checkRecordingOptions(options);
    this.#redaction = resolveRedaction(options.redact);
    this.#state = new RedactionState(this.#redaction);
    this.#now = context.now ?? Date.now;
    this.#random = context.random ?? Math.random;
    this.#endSink = options.endSink ?? true;
    this.#format = context.format;
    this.#rtp = context.carrier === 'sip';
    const onError = context.onError;
    this.#writer = new BoundedLineWriter(options.sink, options.maxBytes ?? RECORDING_DEFAULT_MAX_BYTES, (error) =>
      onError?.(
        new SwitchboardError(
          'recording_failed',
          `The call recording's sink failed: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        ),
      ),
    );
    const header: Record<string, unknown> = {};
    if (options.name !== undefined) header['name'] = options.name;
    if (options.description !== undefined) header['description'] = options.description;
    header['source'] = options.source ?? '@switchboard/core recorder';
    header['carrier'] = context.carrier;
    header['recordedAt'] = new Date().toISOString();
    header['redacted'] = redactedLabels(this.#redaction);
    this.#writer.force(`${JSON.stringify({ trace: header })}\n`);
  }

  /** What was written and what was not. */
  get stats(): Readonly<RecordingStats> {
    return this.#writer.stats;
  }

  /** True once the recording is over. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * The same connection, with every frame it receives and sends recorded. Frames the bridge sends
   * while it handles a carrier frame are written after that frame, so times never go backwards.
   */
  wrap(connection: MediaConnection): MediaConnection {
    const recorder = this;
    // Only the first frame handler (the transport's) records: a second listener sees the same frames.
    let taken = false;
    return interceptConnection(connection, {
      send(frame, send) {
        // Recorded once the socket took it: a send that throws (a closed socket) sent nothing.
        send(frame);
        recorder.sent(frame);
      },
      onMessage(handler) {
        if (taken) return handler;
        taken = true;
        return (frame) => {
          recorder.#arrived(frame);
          try {
            handler(frame);
          } finally {
            recorder.#settle();
          }
        };
      },
    });
  }

  /** What the carrier's protocol decoded from the frame being handled (the transport calls this). */
  decoded(events: readonly CallEvent[]): void {
    const pending = this.#pending;
    if (!pending) return;
    pending.decoded = true;
    for (const event of events) {
      pending.events.push(event);
      if (event.type === 'call_start') {
        this.#state.learn(event);
        this.#format = event.format;
      }
    }
  }

  /** Records a frame the bridge sent to the carrier. */
  sent(frame: MediaFrame): void {
    if (this.#ended) return;
    const t = this.#time();
    if (this.#pending) this.#held.push({ frame, t });
    else this.#guarded(() => this.#writeSent(frame, t));
  }

  /**
   * Ends the recording: the last line (saying the recording was truncated when frames were
   * dropped), then the sink's `end()`.
   * The transport calls it once the call ended, after the frame that ended it was written.
   */
  end(): void {
    if (this.#ended) return;
    if (this.#pending) {
      // Called while the carrier's last frame is being handled (a `stop`): end once it is written.
      this.#endAfterFrame = true;
      return;
    }
    this.#ended = true;
    this.#writer.end(this.#endSink);
  }

  #arrived(frame: MediaFrame): void {
    if (this.#ended) return;
    this.#pending = { frame, t: this.#time(), events: [], decoded: false };
  }

  #settle(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    this.#guarded(() => this.#writeReceived(pending));
    const held = this.#held;
    this.#held = [];
    for (const { frame, t } of held) this.#guarded(() => this.#writeSent(frame, t));
    if (this.#endAfterFrame) this.end();
  }

  /** ms since the first recorded frame, never less than the line before. */
  #time(): number {
    let now: number;
    try {
      now = this.#now();
    } catch {
      now = Date.now();
    }
    this.#t0 ??= now;
    const t = Math.max(this.#lastT, Math.round((now - this.#t0) * 1000) / 1000);
    this.#lastT = t;
    return t;
  }

  #writeReceived(pending: Pending): void {
    const { frame, t, events } = pending;
    const audio =
      this.#redaction.audio === 'keep'
        ? []
        : events.filter((e): e is Extract<CallEvent, { type: 'audio' }> => e.type === 'audio');
    if (typeof frame !== 'string') {
      // A binary frame keeps its bytes only when audio is kept, or when the protocol read it and
      // found something else in it (a DTMF event): a frame it did not read, or read nothing from
      // yet (held by a jitter buffer), is masked all the same.
      const other =
        (pending.decoded && events.length > 0 && audio.length === 0) || (this.#rtp && isTelephoneEvent(frame));
      const bytes = this.#redaction.audio === 'keep' || other ? frame : this.#maskBinary(frame, audio);
      this.#writer.write(JSON.stringify({ t, binary: base64Encode(bytes) }), TRUNCATION_RESERVE);
      return;
    }
    const parsed = parseObject(frame);
    if (parsed === undefined) {
      this.#writer.write(JSON.stringify({ t, text: this.#state.text(frame) }), TRUNCATION_RESERVE);
      return;
    }
    let redacted = this.#state.json(parsed);
    if (audio.length > 0) redacted = this.#maskJson(redacted, audio);
    this.#writer.write(JSON.stringify({ t, frame: redacted }), TRUNCATION_RESERVE);
  }

  #writeSent(frame: MediaFrame, t: number): void {
    if (typeof frame !== 'string') {
      this.#writer.write(JSON.stringify({ t, sentBinary: base64Encode(frame) }), TRUNCATION_RESERVE);
      return;
    }
    const parsed = parseObject(frame);
    const line =
      parsed === undefined ? { t, sentText: this.#state.text(frame) } : { t, sent: this.#state.json(parsed) };
    this.#writer.write(JSON.stringify(line), TRUNCATION_RESERVE);
  }

  /**
   * A binary frame with the caller's audio masked. The audio is where the decoded payload's bytes
   * sit in the frame (all of it for raw audio carriers, after the header for RTP); a frame whose
   * audio cannot be found that way (not decoded, or held by a jitter buffer) is masked whole past
   * an RTP header when it looks like RTP, else whole — never kept as it was.
   */
  #maskBinary(frame: Uint8Array, audio: ReadonlyArray<{ payload: Uint8Array }>): Uint8Array {
    const mode = this.#redaction.audio as 'noise' | 'silence';
    const out = new Uint8Array(frame);
    for (const { payload } of audio) {
      const offset = frame.byteLength - payload.byteLength;
      const order = offset >= 0 ? byteOrderOf(frame, payload, offset, this.#format) : undefined;
      if (order === undefined) continue;
      out.set(maskedInOrder(payload, this.#format, mode, order, this.#random), offset);
      return out;
    }
    const start = this.#rtp ? rtpHeaderLength(frame) : 0;
    out.set(maskedInOrder(frame.subarray(start), this.#format, mode, 'same', this.#random), start);
    return out;
  }

  /**
   * A JSON frame with the string field that holds the caller's audio (base64) masked: the field
   * whose bytes are the decoded payload (or its byte-swapped L16). Where no field is (a protocol
   * that transforms its audio further), the longest base64 field is masked instead and the frame
   * counted in `audioNotFound`: a recording never keeps the caller's voice by mistake.
   */
  #maskJson(frame: unknown, audio: ReadonlyArray<{ payload: Uint8Array }>): unknown {
    const mode = this.#redaction.audio as 'noise' | 'silence';
    let found = false;
    let longest: { holder: Record<string, unknown> | unknown[]; key: string | number; text: string } | undefined;
    const mask = (value: string): string | undefined => {
      for (const { payload } of audio) {
        if (value.length === 0 || value.length !== Math.ceil(payload.byteLength / 3) * 4) continue;
        const bytes = decodeOrUndefined(value);
        const order =
          bytes && bytes.byteLength === payload.byteLength ? byteOrderOf(bytes, payload, 0, this.#format) : undefined;
        if (order === undefined) continue;
        found = true;
        return base64Encode(maskedInOrder(payload, this.#format, mode, order, this.#random));
      }
      return undefined;
    };
    const visit = (holder: Record<string, unknown> | unknown[], key: string | number): void => {
      const value = (holder as Record<string | number, unknown>)[key];
      if (typeof value === 'string') {
        const masked = mask(value);
        if (masked !== undefined) (holder as Record<string | number, unknown>)[key] = masked;
        else if (value.length >= 4 && (!longest || value.length > longest.text.length) && isBase64(value))
          longest = { holder, key, text: value };
        return;
      }
      if (Array.isArray(value)) value.forEach((_, i) => visit(value, i));
      else if (typeof value === 'object' && value !== null)
        for (const k of Object.keys(value)) visit(value as Record<string, unknown>, k);
    };
    const root = { frame };
    visit(root, 'frame');
    if (!found) {
      this.#writer.stats.audioNotFound++;
      const bytes = longest ? decodeOrUndefined(longest.text) : undefined;
      if (longest && bytes)
        (longest.holder as Record<string | number, unknown>)[longest.key] = base64Encode(
          maskedInOrder(bytes, this.#format, mode, 'same', this.#random),
        );
    }
    return root.frame;
  }

  #guarded(fn: () => void): void {
    try {
      fn();
    } catch {
      // A frame the recorder cannot write (a value JSON cannot hold) is skipped; the call goes on.
      this.#writer.stats.framesDropped++;
    }
  }
}

function decodeOrUndefined(text: string): Uint8Array | undefined {
  try {
    return base64Decode(text);
  } catch {
    return undefined;
  }
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

/** The frame parsed, when it is a JSON object; undefined otherwise. */
function parseObject(text: string): Record<string, unknown> | undefined {
  const first = text.trimStart()[0];
  if (first !== '{') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether an RTP packet carries RFC 4733 telephone events rather than audio: a dynamic payload
 * type (96-127, where telephone-event always sits) and a payload of whole 4-byte event blocks, a
 * few at most (a redundant packet repeats earlier events). A jitter buffer may hold such a packet,
 * so that nothing was decoded from it yet; masking it would change the caller's digits.
 */
function isTelephoneEvent(frame: Uint8Array): boolean {
  const header = rtpHeaderLength(frame);
  if (header === 0 || (frame[1]! & 0x7f) < 96) return false;
  // Padding (the P bit): its last byte counts the padding bytes.
  const padding = frame[0]! & 0x20 ? frame[frame.byteLength - 1]! : 0;
  const payload = frame.byteLength - header - padding;
  return payload > 0 && payload % 4 === 0 && payload <= 64;
}

/** Length of the RTP header when the frame looks like RTP (version 2, long enough), else 0. */
function rtpHeaderLength(frame: Uint8Array): number {
  if (frame.byteLength < 12 || frame[0]! >> 6 !== 2) return 0;
  let length = 12 + 4 * (frame[0]! & 0x0f);
  if (frame[0]! & 0x10) {
    if (frame.byteLength < length + 4) return 0;
    length += 4 + 4 * ((frame[length + 2]! << 8) | frame[length + 3]!);
  }
  return length <= frame.byteLength ? length : 0;
}
