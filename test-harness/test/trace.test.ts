import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  bundledTracesDir,
  readTraceText,
  loadTrace,
  loadTraces,
  parseTrace,
  serializeTrace,
  TraceParseError,
  traceExpect,
  type Trace,
  type TraceExpect,
  type TraceFrame,
} from '../src/trace.js';
import { inChunkOrder } from '../src/caller.js';

const CORPUS = [
  'agent-hangup',
  'barge-in',
  'clear-without-echo',
  'demo-call',
  'dtmf',
  'early-media',
  'long-call',
  'long-reply-no-acks',
  'marks-after-clear',
  'no-stop',
  'out-of-order',
  'second-start',
  'slow-tool',
  'timestamp-gap',
  'two-turn',
  'uneven-deltas',
] as const;

/** The digits each trace with the `dtmf` hazard presses. */
const DTMF_DIGITS: Partial<Record<(typeof CORPUS)[number], string[]>> = {
  dtmf: ['1', '2', '3', '#'],
  'demo-call': ['1', '2', '#'],
};

const FRAME_MS = 20;
const FRAME_BYTES = 160;
/** The realtime simulator answers 500 ms VAD silence + ~300 ms after the caller stops. */
const REPLY_DELAY_MS = 800;
/** Its replies last 2.5-4 s of audio. */
const REPLY_MIN_MS = 2500;
const REPLY_MAX_MS = 4000;
/** With the `long-reply` hazard the first reply joins all five, 400 ms apart: about 18 s. */
const LONG_REPLY_MIN_MS = 17000;
const LONG_REPLY_MAX_MS = 18500;
/** The most frames a late frame of the `out-of-order` hazard trails its place by. */
const MAX_LATE_FRAMES = 3;

const cache = new Map<string, Promise<Trace>>();
/** A bundled trace's file: `<name>.jsonl`, or `<name>.jsonl.gz` for the long ones. */
function corpusFile(name: string): string {
  const plain = join(bundledTracesDir(), `${name}.jsonl`);
  return existsSync(plain) ? plain : `${plain}.gz`;
}

function corpusTrace(name: string): Promise<Trace> {
  let p = cache.get(name);
  if (!p) {
    p = loadTrace(corpusFile(name));
    cache.set(name, p);
  }
  return p;
}

/** G.711 μ-law byte to a 16-bit linear sample. */
function muLawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

// The checks of every frame go through `expect` only when they fail (and then fail as `expect`
// says): the long call has 15,000 frames, and a hundred thousand `expect` calls take seconds.
/** `expect(actual, what).toBe(expected)`. */
function same(actual: unknown, expected: unknown, what?: string): void {
  if (!Object.is(actual, expected)) expect(actual, what).toBe(expected);
}
/** `expect(actual, what).toEqual(expected)`. */
function equal(actual: unknown, expected: unknown, what?: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, what).toEqual(expected);
}
/** `expect(actual, what).toMatch(pattern)`. */
function matching(actual: unknown, pattern: RegExp, what?: string): void {
  if (typeof actual !== 'string' || !pattern.test(actual)) expect(actual, what).toMatch(pattern);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  same(v !== null && typeof v === 'object' && !Array.isArray(v), true);
  return v as Obj;
};
const keys = (v: unknown): string[] => Object.keys(obj(v)).sort();
const sorted = (...k: string[]): string[] => [...k].sort();

const DIGITS = /^\d+$/;
const MEDIA_FRAME_KEYS = sorted('event', 'sequenceNumber', 'media', 'streamSid');
const MEDIA_KEYS = sorted('track', 'chunk', 'timestamp', 'payload');
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

interface MediaInfo {
  t: number;
  stream: number;
  chunk: number;
  timestamp: number;
  bytes: Uint8Array;
}

/** Media frames of a trace with their stream index (0 before any second start). */
function mediaOf(trace: Trace): MediaInfo[] {
  const out: MediaInfo[] = [];
  let stream = -1;
  for (const { t, frame } of trace.frames) {
    if (frame.event === 'start') stream++;
    if (frame.event !== 'media') continue;
    const media = obj(frame.media);
    out.push({
      t,
      stream,
      chunk: Number(media.chunk),
      timestamp: Number(media.timestamp),
      bytes: new Uint8Array(Buffer.from(String(media.payload), 'base64')),
    });
  }
  return out;
}

/**
 * How many frames each media frame trails its place by: the frames of its stream delivered before
 * it that carry a later chunk.
 */
function framesLate(media: readonly Pick<MediaInfo, 'stream' | 'chunk'>[]): number[] {
  // The highest chunk of each stream so far: a frame not below it trails nothing.
  const highest = new Map<number, number>();
  return media.map((m, i) => {
    const top = highest.get(m.stream) ?? -Infinity;
    if (!(m.chunk < top)) {
      if (m.chunk > top) highest.set(m.stream, m.chunk);
      return 0;
    }
    let late = 0;
    for (let j = 0; j < i; j++) if (media[j]!.stream === m.stream && media[j]!.chunk > m.chunk) late++;
    return late;
  });
}

/** Spans on the trace clock where media frames are missing: [fromMs, toMs). */
function holesOf(media: MediaInfo[]): Array<[number, number]> {
  const holes: Array<[number, number]> = [];
  for (let i = 1; i < media.length; i++) {
    const a = media[i - 1]!;
    const b = media[i]!;
    if (a.stream === b.stream && b.t - a.t > FRAME_MS) holes.push([a.t + FRAME_MS, b.t]);
  }
  return holes;
}

const events = (trace: Trace, event: string): TraceFrame[] => trace.frames.filter((f) => f.frame.event === event);

function rmsDb(samples: number[]): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return 20 * Math.log10(Math.sqrt(sum / samples.length) / 32768);
}

describe('bundled trace corpus', () => {
  it('bundledTracesDir() is an absolute folder holding the corpus', () => {
    const dir = bundledTracesDir();
    expect(isAbsolute(dir)).toBe(true);
    expect(existsSync(join(dir, 'two-turn.jsonl'))).toBe(true);
  });

  it('loadTraces(dir) parses every bundled trace, sorted by file name', async () => {
    const traces = await loadTraces(bundledTracesDir());
    expect(traces.map((t) => t.header.name)).toEqual([...CORPUS]);
    for (const t of traces) expect(t.path).toBe(corpusFile(t.header.name));
  });

  it('ships the long call gzip-compressed, and reads it as it reads the others', async () => {
    expect(corpusFile('long-call')).toMatch(/long-call\.jsonl\.gz$/);
    const trace = await corpusTrace('long-call');
    expect(trace.header.name).toBe('long-call');
    expect(trace.frames.length).toBe(15503);
  });

  it('loadTraces(file) returns just that trace', async () => {
    const traces = await loadTraces(join(bundledTracesDir(), 'dtmf.jsonl'));
    expect(traces.map((t) => t.header.name)).toEqual(['dtmf']);
  });

  describe.each(CORPUS)('%s', (name) => {
    it('serializes back to the exact bytes of its file', async () => {
      const trace = await corpusTrace(name);
      const text = await readTraceText(trace.path!);
      expect(serializeTrace(trace)).toBe(text);
    });

    it('has a complete header whose name matches the file', async () => {
      const { header } = await corpusTrace(name);
      expect(header.name).toBe(name);
      expect(header.description.length).toBeGreaterThan(10);
      expect(header.source).toMatch(/espeak-ng/);
    });

    it('sends frames with exactly the fields and string counters Twilio uses', async () => {
      const trace = await corpusTrace(name);
      // Counters are checked in the order the caller produced the frames: a trace with the
      // out-of-order hazard delivers some late (checked below).
      const frames = inChunkOrder(trace.frames);
      expect(frames[0]).toEqual({
        t: 0,
        frame: { event: 'connected', protocol: 'Call', version: '1.0.0' },
      });
      expect(frames[1]!.frame.event).toBe('start');
      expect(frames[1]!.t).toBe(0);

      let accountSid = '';
      let callSid = '';
      let streamSid = '';
      let chunk = 0;
      let lastTimestamp = -1;
      let lastMediaT = -1;
      const jumps: number[] = [];
      frames.forEach(({ t, frame }, i) => {
        if (i === 0) return;
        // Every message after `connected` carries the next sequence number, as a string.
        same(frame.sequenceNumber, String(i), `frame ${i}`);
        switch (frame.event) {
          case 'start': {
            expect(keys(frame)).toEqual(sorted('event', 'sequenceNumber', 'start', 'streamSid'));
            const start = obj(frame.start);
            expect(keys(start)).toEqual(
              sorted('accountSid', 'streamSid', 'callSid', 'tracks', 'customParameters', 'mediaFormat'),
            );
            expect(start.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
            expect(start.callSid).toMatch(/^CA[0-9a-f]{32}$/);
            expect(start.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
            expect(frame.streamSid).toBe(start.streamSid);
            expect(start.tracks).toEqual(['inbound']);
            expect(start.mediaFormat).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
            for (const v of Object.values(obj(start.customParameters))) expect(typeof v).toBe('string');
            if (callSid) expect(start.callSid).toBe(callSid);
            if (accountSid) expect(start.accountSid).toBe(accountSid);
            expect(start.streamSid).not.toBe(streamSid);
            accountSid = String(start.accountSid);
            callSid = String(start.callSid);
            streamSid = String(start.streamSid);
            chunk = 0;
            lastTimestamp = -1;
            lastMediaT = -1;
            break;
          }
          case 'media': {
            equal(keys(frame), MEDIA_FRAME_KEYS, `frame ${i}`);
            same(frame.streamSid, streamSid, `frame ${i}`);
            const media = obj(frame.media);
            equal(keys(media), MEDIA_KEYS, `frame ${i}`);
            same(media.track, 'inbound', `frame ${i}`);
            same(media.chunk, String(chunk + 1), `frame ${i}`);
            chunk++;
            same(typeof media.timestamp, 'string', `frame ${i}`);
            matching(media.timestamp, DIGITS, `frame ${i}`);
            const ts = Number(media.timestamp);
            if (lastTimestamp < 0) {
              same(ts, 0, `frame ${i}`);
            } else {
              if (ts - lastTimestamp !== FRAME_MS) jumps.push(ts - lastTimestamp);
              // The trace clock moves with the media clock.
              same(t - lastMediaT, ts - lastTimestamp, `frame ${i}`);
            }
            lastTimestamp = ts;
            lastMediaT = t;
            matching(media.payload, BASE64, `frame ${i}`);
            same(Buffer.from(String(media.payload), 'base64').length, FRAME_BYTES, `frame ${i}`);
            break;
          }
          case 'dtmf': {
            expect(keys(frame)).toEqual(sorted('event', 'streamSid', 'sequenceNumber', 'dtmf'));
            expect(frame.streamSid).toBe(streamSid);
            expect(keys(frame.dtmf)).toEqual(['digit', 'track']);
            expect(obj(frame.dtmf).track).toBe('inbound_track');
            expect(obj(frame.dtmf).digit).toMatch(/^[0-9*#]$/);
            break;
          }
          case 'mark': {
            expect(keys(frame)).toEqual(sorted('event', 'sequenceNumber', 'streamSid', 'mark'));
            expect(frame.streamSid).toBe(streamSid);
            expect(keys(frame.mark)).toEqual(['name']);
            expect(typeof obj(frame.mark).name).toBe('string');
            break;
          }
          case 'stop': {
            expect(keys(frame)).toEqual(sorted('event', 'sequenceNumber', 'stop', 'streamSid'));
            expect(frame.streamSid).toBe(streamSid);
            expect(frame.stop).toEqual({ accountSid, callSid });
            expect(i).toBe(frames.length - 1);
            break;
          }
          default:
            throw new Error(`frame ${i}: unexpected event ${String(frame.event)}`);
        }
      });

      // Timestamps advance 20 ms per frame except across the declared gap.
      const gapMs = traceExpect(trace).gapMs;
      if (gapMs === undefined) {
        expect(jumps).toEqual([]);
      } else {
        expect(jumps).toEqual([gapMs + FRAME_MS]);
      }
    });

    it('declares in expect exactly what its frames carry', async () => {
      const trace = await corpusTrace(name);
      const x = trace.header.expect as TraceExpect;
      const starts = events(trace, 'start').map((f) => obj(f.frame.start));
      expect(x.streamSids).toEqual(starts.map((s) => s.streamSid));
      expect(x.callSid).toBe(starts[0]!.callSid);
      expect(x.customParameters).toEqual(starts[0]!.customParameters);
      expect(x.dtmf).toEqual(events(trace, 'dtmf').map((f) => obj(f.frame.dtmf).digit));
      const media = mediaOf(trace);
      expect(x.inboundMediaBytes).toBe(media.reduce((n, m) => n + m.bytes.length, 0));
      expect(x.durationMs).toBe(trace.frames[trace.frames.length - 1]!.t);
      const holes = holesOf(media);
      if (x.gapMs === undefined) expect(holes).toEqual([]);
      else expect(holes.reduce((n, [a, b]) => n + b - a, 0)).toBe(x.gapMs);
      expect(x.utterances.length).toBeGreaterThan(0);
      for (const u of x.utterances) {
        expect(u.endMs).toBeGreaterThan(u.startMs);
        expect(u.endMs).toBeLessThanOrEqual(x.durationMs);
      }
    });

    it('carries real speech inside the utterances and a quiet, non-constant line outside', async () => {
      const trace = await corpusTrace(name);
      const { utterances } = traceExpect(trace);
      const media = mediaOf(trace);
      const quiet: number[] = [];
      const quietBytes = new Set<number>();
      const speech: number[][] = utterances.map(() => []);
      const frameDb: number[][] = utterances.map(() => []);
      for (const m of media) {
        const pcm = Array.from(m.bytes, muLawToLinear);
        const idx = utterances.findIndex((u) => m.t >= u.startMs && m.t + FRAME_MS <= u.endMs);
        const overlaps = utterances.some((u) => m.t < u.endMs && m.t + FRAME_MS > u.startMs);
        if (idx >= 0) {
          speech[idx]!.push(...pcm);
          frameDb[idx]!.push(rmsDb(pcm));
        } else if (!overlaps) {
          quiet.push(...pcm);
          for (const b of m.bytes) quietBytes.add(b);
        }
      }
      const quietDb = rmsDb(quiet);
      // The line between utterances is a low noise floor, not digital silence.
      expect(quietBytes.size).toBeGreaterThan(4);
      expect(quietDb).toBeGreaterThan(-70);
      expect(quietDb).toBeLessThan(-50);
      utterances.forEach((u, i) => {
        expect(rmsDb(speech[i]!) - quietDb, `utterance ${u.startMs}-${u.endMs}`).toBeGreaterThanOrEqual(25);
        // Speech is modulated (syllables and pauses), unlike a steady tone or noise burst.
        const db = [...frameDb[i]!].sort((a, b) => a - b);
        const p10 = db[Math.floor(db.length * 0.1)]!;
        const p90 = db[Math.floor(db.length * 0.9)]!;
        expect(p90 - p10, `utterance ${u.startMs}-${u.endMs}`).toBeGreaterThan(10);
      });
    });

    it('declares hazards that match its content', async () => {
      const trace = await corpusTrace(name);
      const { hazards } = trace.header;
      const x = trace.header.expect as TraceExpect;
      const has = (h: string) => hazards.includes(h);
      expect(events(trace, 'dtmf').length > 0).toBe(has('dtmf'));
      expect(events(trace, 'stop').length === 0).toBe(has('no-stop'));
      expect(events(trace, 'start').length > 1).toBe(has('second-start'));
      expect(events(trace, 'mark').length > 0).toBe(has('marks-after-clear'));
      expect(x.gapMs !== undefined).toBe(has('timestamp-gap'));
      expect(x.durationMs >= 300_000).toBe(has('long-call'));

      // Out of order: some media frames arrive after later ones, each at most a few frames late,
      // and nothing else about them changes.
      const media = mediaOf(trace);
      const late = framesLate(media);
      expect(late.some((n) => n > 0)).toBe(has('out-of-order'));
      expect(Math.max(...late)).toBeLessThanOrEqual(MAX_LATE_FRAMES);
      if (has('out-of-order')) {
        expect(inChunkOrder(trace.frames).map((f) => f.t)).toEqual(trace.frames.map((f) => f.t));
        for (const m of media) expect(m.timestamp).toBe((m.chunk - 1) * FRAME_MS);
      }

      // The agent replies REPLY_DELAY_MS after the caller stops and talks for 2.5-4 s: a turn
      // starting inside that window interrupts it.
      const holes = holesOf(mediaOf(trace));
      let bargeIns = 0;
      for (let i = 1; i < x.utterances.length; i++) {
        const prev = x.utterances[i - 1]!;
        const next = x.utterances[i]!;
        if (holes.some(([a, b]) => a === prev.endMs && b === next.startMs)) continue; // one utterance cut by a gap
        const pause = next.startMs - prev.endMs;
        const long = has('long-reply') && i === 1;
        if (pause < REPLY_DELAY_MS + (long ? LONG_REPLY_MIN_MS : REPLY_MIN_MS)) {
          expect(pause, 'caller speaks over the reply, not before it').toBeGreaterThan(REPLY_DELAY_MS);
          bargeIns++;
        } else {
          expect(pause).toBeGreaterThanOrEqual(REPLY_DELAY_MS + (long ? LONG_REPLY_MAX_MS : REPLY_MAX_MS));
        }
      }
      expect(bargeIns > 0).toBe(has('barge-in'));
      // Without an echo of pending marks, the bridge must get a second barge-in right as well.
      if (has('clear-without-echo')) expect(bargeIns).toBeGreaterThanOrEqual(2);
      // The long reply is interrupted deep into it, where a drifting playout clock shows.
      if (has('long-reply')) {
        const [first, second] = x.utterances;
        expect(second!.startMs - first!.endMs - REPLY_DELAY_MS).toBeGreaterThanOrEqual(8000);
      }

      if (has('early-media')) {
        // Speech from the first media frame through at least the 75 frames sent before the
        // model socket opens.
        expect(x.utterances[0]!.startMs).toBe(0);
        expect(x.utterances[0]!.endMs).toBeGreaterThanOrEqual(75 * FRAME_MS);
      } else {
        expect(x.utterances[0]!.startMs).toBeGreaterThan(0);
      }

      if (has('marks-after-clear')) {
        // The stale marks arrive just after the interrupting utterance starts.
        for (const m of events(trace, 'mark')) {
          const during = x.utterances.find((u, i) => i > 0 && m.t >= u.startMs && m.t < u.endMs);
          expect(during).toBeDefined();
        }
      }

      if (has('dtmf')) expect(x.dtmf).toEqual(DTMF_DIGITS[name]);

      if (has('second-start')) {
        const [first, second] = events(trace, 'start');
        expect(obj(second!.frame.start).callSid).toBe(obj(first!.frame.start).callSid);
        expect(x.streamSids).toHaveLength(2);
        // Each stream has caller speech.
        expect(x.utterances.some((u) => u.startMs < second!.t)).toBe(true);
        expect(x.utterances.some((u) => u.startMs >= second!.t)).toBe(true);
      }
    });
  });
});

describe('framesLate', () => {
  it('counts how far each frame trails its place, however far', () => {
    const media = (chunks: number[]) => chunks.map((chunk) => ({ stream: 0, chunk }));
    expect(framesLate(media([1, 2, 3]))).toEqual([0, 0, 0]);
    expect(framesLate(media([1, 3, 4, 2, 5]))).toEqual([0, 0, 0, 2, 0]);
    // Chunk 2 arrives ten frames late: that is more than a reorder window holds.
    expect(Math.max(...framesLate(media([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2, 13])))).toBe(10);
    // Another stream's numbers do not count.
    expect(
      framesLate([
        { stream: 0, chunk: 5 },
        { stream: 1, chunk: 1 },
      ]),
    ).toEqual([0, 0]);
  });
});

describe('parseTrace', () => {
  const header = {
    trace: {
      name: 'tiny',
      description: 'A two-frame trace.',
      source: 'hand-written',
      hazards: [],
      expect: {
        dtmf: [],
        inboundMediaBytes: 0,
        utterances: [],
        durationMs: 20,
      },
    },
  };
  const connected = { t: 0, frame: { event: 'connected', protocol: 'Call', version: '1.0.0' } };
  const stop = { t: 20, frame: { event: 'stop', sequenceNumber: '1' } };
  const jsonl = (...lines: unknown[]) =>
    lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

  function errorOf(fn: () => unknown): TraceParseError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(TraceParseError);
      return err as TraceParseError;
    }
    throw new Error('expected parseTrace to throw');
  }

  it('parses a well-formed trace and keeps the path', () => {
    const trace = parseTrace(jsonl(header, connected, stop), 'tiny.jsonl');
    expect(trace.header.name).toBe('tiny');
    expect(trace.frames).toEqual([connected, stop]);
    expect(trace.path).toBe('tiny.jsonl');
  });

  it('round-trips through serializeTrace', () => {
    const text = jsonl(header, connected, stop);
    expect(serializeTrace(parseTrace(text))).toBe(text);
  });

  it('ignores blank lines and CRLF line ends', () => {
    const text = [JSON.stringify(header), JSON.stringify(connected), '', JSON.stringify(stop), ''].join('\r\n');
    expect(parseTrace(text).frames).toHaveLength(2);
  });

  it('rejects invalid JSON with its line number and the file', () => {
    const err = errorOf(() => parseTrace(jsonl(header, connected, '{"t": 20, "frame": {'), 'bad.jsonl'));
    expect(err.line).toBe(3);
    expect(err.message).toContain('bad.jsonl');
    expect(err.message).toContain('line 3');
    expect(err.message).toContain('invalid JSON');
  });

  it('rejects a frame line without t, with its line number', () => {
    const err = errorOf(() => parseTrace(jsonl(header, connected, { frame: { event: 'stop' } })));
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/line 3: .*\bt\b/);
  });

  it('rejects a frame without an event', () => {
    const err = errorOf(() => parseTrace(jsonl(header, { t: 0, frame: { protocol: 'Call' } })));
    expect(err.line).toBe(2);
    expect(err.message).toContain('event');
  });

  it('takes a fractional t and rejects a negative one', () => {
    expect(parseTrace(jsonl({ trace: {} }, connected, { ...stop, t: 2.5 })).frames[1]!.t).toBe(2.5);
    expect(errorOf(() => parseTrace(jsonl(header, { ...connected, t: -1 }))).line).toBe(2);
  });

  it('rejects t going backwards, naming the line', () => {
    const err = errorOf(() => parseTrace(jsonl(header, connected, stop, { ...stop, t: 10 })));
    expect(err.line).toBe(4);
    expect(err.message).toContain('backwards');
  });

  it('shifts a trace whose first line is not at t 0', () => {
    expect(parseTrace(jsonl({ trace: {} }, { ...connected, t: 5 }, { ...stop, t: 25 })).frames.map((f) => f.t)).toEqual(
      [0, 20],
    );
  });

  it('takes a header with fields missing, and rejects a misspelt or mistyped one as line 1 only when strict', () => {
    const { hazards: _omit, ...noHazards } = header.trace;
    expect(parseTrace(jsonl({ trace: noHazards }, connected, stop)).header.hazards).toEqual([]);
    const typo = { trace: { ...header.trace, hazard: [] } };
    expect(parseTrace(jsonl(typo, connected, stop)).header.name).toBe('tiny');
    const err = errorOf(() => parseTrace(jsonl(typo, connected, stop), undefined, { strict: true }));
    expect(err.line).toBe(1);
    expect(err.message).toContain('hazard');
    expect(
      errorOf(() => parseTrace(jsonl({ trace: { ...header.trace, hazards: 'dtmf' } }, connected))).message,
    ).toContain('hazards');
  });

  it('rejects a frame line with unknown keys only when strict', () => {
    expect(parseTrace(jsonl(header, { ...connected, dir: 'in' }, stop)).frames).toHaveLength(2);
    expect(
      errorOf(() => parseTrace(jsonl(header, { ...connected, dir: 'in' }, stop), undefined, { strict: true })).line,
    ).toBe(2);
  });

  it('rejects an empty text and a trace without carrier frames', () => {
    expect(errorOf(() => parseTrace('')).line).toBe(1);
    expect(errorOf(() => parseTrace(jsonl(header))).message).toContain('no carrier frames');
    expect(errorOf(() => parseTrace(jsonl(header, { t: 0, sent: { event: 'clear' } }))).message).toContain(
      'no carrier frames',
    );
  });
});
