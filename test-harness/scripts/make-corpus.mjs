#!/usr/bin/env node
// Generates the conformance corpus of @switchboard/conformance:
//   - assets/agent/reply-N.wav + replies.json: the scripted voice of the realtime simulator
//     (24 kHz mono 16-bit PCM);
//   - traces/*.jsonl (*.jsonl.gz above 1 MB): Twilio Media Streams calls, one JSON line per frame
//     Twilio sends, with synthesized caller speech as 8 kHz mu-law.
//
// Requirements: espeak-ng and sox on PATH (apt-get install -y espeak-ng sox).
// Usage: node test-harness/scripts/make-corpus.mjs
//
// The output is deterministic: fixed voices and texts, SIDs derived from trace names by SHA-256,
// a seeded PRNG for the noise floor, sox run without dither. Re-running it rewrites the same bytes.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = path.resolve(HERE, '..');
const TRACES_DIR = path.join(PKG, 'traces');
const AGENT_DIR = path.join(PKG, 'assets', 'agent');

const CALLER_VOICE = 'en-us+m3';
const CALLER_WPM = 195;
const AGENT_VOICE = 'en-us+f3';
const AGENT_WPM = 165;

const RATE = 8000; // Twilio inbound: audio/x-mulaw, 8000 Hz, mono
const FRAME_MS = 20;
const FRAME_SAMPLES = (RATE * FRAME_MS) / 1000; // 160 bytes of mu-law per media frame
const NOISE_DBFS = -60; // comfort-noise floor on the caller line between utterances
const SPEECH_PEAK_DB = -3; // each caller utterance is normalized to this peak level

const CUSTOM_PARAMETERS = { caller: '+15551230000', campaign: 'demo' };
const SOURCE =
  `synthesized: espeak-ng voice ${CALLER_VOICE} (${CALLER_WPM} wpm), sox resampled to 8 kHz and ` +
  `mu-law encoded without dither, comfort noise at ${NOISE_DBFS} dBFS from a seeded PRNG; ` +
  'frame shapes per Twilio Media Streams docs (WebSocket messages)';

// ---------------------------------------------------------------------------------------------
// Tools

function run(cmd, args, input) {
  try {
    return execFileSync(cmd, args, { input, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = err && err.stderr ? String(err.stderr) : '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr || String(err)}`);
  }
}

function requireTools() {
  for (const [cmd, arg] of [
    ['espeak-ng', '--version'],
    ['sox', '--version'],
  ]) {
    try {
      execFileSync(cmd, [arg], { stdio: 'ignore' });
    } catch {
      console.error(`make-corpus: '${cmd}' not found. Install it: apt-get install -y espeak-ng sox`);
      process.exit(1);
    }
  }
}

const sha = (s) => createHash('sha256').update(s).digest('hex');
const sid = (prefix, seed) => prefix + sha(`switchboard-corpus:${seed}`).slice(0, 32);
const ACCOUNT_SID = sid('AC', 'account');

/** Deterministic 32-bit PRNG (mulberry32), returns floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seedOf = (s) => parseInt(sha(s).slice(0, 8), 16);

function int16FromBuffer(buf) {
  const out = new Int16Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}

function int16ToBuffer(samples) {
  const buf = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i], i * 2);
  return buf;
}

const dbfs = (rms) => (rms > 0 ? 20 * Math.log10(rms / 32768) : -Infinity);

function rms(samples, from = 0, to = samples.length) {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i] * samples[i];
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

// ---------------------------------------------------------------------------------------------
// Speech

let tmp;

/** espeak-ng -> sox -> 16-bit 8 kHz samples, trimmed to the first/last audible sample. */
function callerSpeech(text) {
  const wav = path.join(tmp, 'caller.wav');
  run('espeak-ng', ['-v', CALLER_VOICE, '-s', String(CALLER_WPM), '-w', wav, text]);
  const raw = run('sox', [
    '-D',
    wav,
    '-t',
    'raw',
    '-e',
    'signed-integer',
    '-b',
    '16',
    '-r',
    String(RATE),
    '-c',
    '1',
    '-',
    'highpass',
    '120',
    'gain',
    '-n',
    String(SPEECH_PEAK_DB),
  ]);
  const s = int16FromBuffer(raw);
  const threshold = 0.01 * 32768;
  let a = 0;
  while (a < s.length && Math.abs(s[a]) < threshold) a++;
  let b = s.length;
  while (b > a && Math.abs(s[b - 1]) < threshold) b--;
  if (b <= a) throw new Error(`espeak-ng produced no audible speech for "${text}"`);
  return s.slice(a, b);
}

function makeAgentReplies() {
  const replies = [
    { transcript: 'Hello, thanks for calling. How can I help you today?' },
    { transcript: 'Sure. Let me check the weather in Paris for you.' },
    { transcript: 'It is sunny in Paris, about twenty degrees.' },
    {
      transcript: 'Of course. I can look that up for you, please stay on the line for a moment.',
      wpm: 185,
    },
    { transcript: 'Thank you for calling. Goodbye, have a great day!' },
  ];
  mkdirSync(AGENT_DIR, { recursive: true });
  const index = [];
  replies.forEach((r, i) => {
    const file = `reply-${i + 1}.wav`;
    const src = path.join(tmp, `agent-${i + 1}.wav`);
    const out = path.join(AGENT_DIR, file);
    run('espeak-ng', ['-v', AGENT_VOICE, '-s', String(r.wpm ?? AGENT_WPM), '-w', src, r.transcript]);
    // Trim leading and trailing silence, normalize, keep 40 ms of room at each end.
    run('sox', [
      '-D',
      src,
      '-r',
      '24000',
      '-c',
      '1',
      '-b',
      '16',
      '-e',
      'signed-integer',
      out,
      'silence',
      '1',
      '0.01',
      '0.5%',
      'reverse',
      'silence',
      '1',
      '0.01',
      '0.5%',
      'reverse',
      'gain',
      '-n',
      '-3',
      'pad',
      '0.04',
      '0.04',
    ]);
    const seconds = Number(String(run('soxi', ['-D', out])).trim());
    if (!(seconds >= 2.5 && seconds <= 4)) {
      throw new Error(`${file}: ${seconds.toFixed(2)} s is outside 2.5-4 s; adjust its text or rate`);
    }
    index.push({ file, transcript: r.transcript });
    console.log(`wrote ${rel(out)}  ${kb(out)}  ${seconds.toFixed(2)} s  "${r.transcript}"`);
  });
  const json = path.join(AGENT_DIR, 'replies.json');
  writeFileSync(json, JSON.stringify(index, null, 2) + '\n');
  console.log(`wrote ${rel(json)}  ${kb(json)}`);
}

// ---------------------------------------------------------------------------------------------
// Calls

const UTTERANCES = {
  weather: 'Hi, I would like to know the weather in Paris.',
  thanks: 'Thanks, that is all for now.',
  sorry: 'Sorry, wait, one more thing.',
  account: 'I want to enter my account number.',
  hello: 'Hello? Hello, is anybody there? I need some help.',
  reference: 'I am calling about the reference number on my letter, seven four two nine one, from last week.',
  order: 'Can you tell me where my order is?',
  hours: 'What time do you open tomorrow?',
  weekend: 'Okay, and what about the weekend?',
  repeat: 'Could you repeat that, please?',
  paris: 'The weather in Paris, please.',
  like: 'So, what is it like there?',
  great: 'Great. Now I want to enter my account number.',
  goodbye: 'Thanks, goodbye.',
};

const speechCache = new Map();
function speech(key) {
  let s = speechCache.get(key);
  if (!s) {
    s = callerSpeech(UTTERANCES[key]);
    speechCache.set(key, s);
  }
  return s;
}

const msToFrames = (ms) => Math.ceil(ms / FRAME_MS);

/**
 * A call on the trace clock. Every 20 ms slot k (t = 20k) holds one media frame unless it falls
 * in a declared hole; other frames (dtmf, mark, a second start) are placed before a slot.
 * Utterances start on slot boundaries.
 */
class Call {
  constructor(name) {
    this.name = name;
    this.cursor = 0; // slot index
    this.placed = []; // { slot, samples, key }
    this.events = []; // { slot, kind, data }
    this.holes = []; // [fromSlot, toSlot)
    this.late = []; // { from: media frame index, by: frames }
    this.stop = true;
  }
  quiet(ms) {
    this.cursor += msToFrames(ms);
    return this;
  }
  say(key) {
    const samples = speech(key);
    this.placed.push({ slot: this.cursor, samples, key });
    this.cursor += Math.ceil(samples.length / FRAME_SAMPLES);
    return this;
  }
  /** Adds an event before the slot `msFromNow` ahead of the cursor (cursor unchanged). */
  at(msFromNow, kind, data) {
    this.events.push({ slot: this.cursor + msToFrames(msFromNow), kind, data });
    return this;
  }
  hole(fromSlot, ms) {
    this.holes.push([fromSlot, fromSlot + msToFrames(ms)]);
    return this;
  }
  noStop() {
    this.stop = false;
    return this;
  }
  /**
   * Delivers media frames out of order, as a carrier without ordered delivery does: from media
   * frame `first` on, every `every`-th frame arrives `by[k]` frames late (cycling through `by`).
   */
  outOfOrder(first, every, by) {
    for (let m = first, k = 0; m < 1e9 && m < this.cursor; m += every, k++)
      this.late.push({ from: m, by: by[k % by.length] });
    return this;
  }
}

/**
 * Moves each late media frame `by` media slots later. The slots keep their times; the frames
 * (with their sequenceNumber, chunk and timestamp) change places.
 */
function applyLateFrames(frames, late) {
  const slots = [];
  frames.forEach((f, i) => {
    if (f.frame.event === 'media') slots.push(i);
  });
  const media = slots.map((i) => frames[i].frame);
  for (const { from, by } of late) {
    if (from + by >= media.length) continue;
    const [moved] = media.splice(from, 1);
    media.splice(from + by, 0, moved);
  }
  slots.forEach((i, k) => {
    frames[i] = { t: frames[i].t, frame: media[k] };
  });
}

function buildTrace(def) {
  const { name, description, hazards, call } = def;
  const totalSlots = call.cursor;
  const n = totalSlots * FRAME_SAMPLES;

  // Caller line: comfort noise everywhere, speech mixed in.
  const rand = prng(seedOf(`noise:${name}`));
  const sigma = 32768 * 10 ** (NOISE_DBFS / 20);
  const line = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    // Sum of four uniforms: approximately Gaussian, unit variance after scaling by sqrt(3).
    const g = (rand() + rand() + rand() + rand() - 2) * Math.sqrt(3);
    line[i] = Math.round(g * sigma);
  }
  for (const p of call.placed) {
    const base = p.slot * FRAME_SAMPLES;
    for (let i = 0; i < p.samples.length; i++) {
      const v = line[base + i] + p.samples[i];
      line[base + i] = Math.max(-32768, Math.min(32767, v));
    }
  }
  const mulaw = run(
    'sox',
    [
      '-D',
      '-t',
      'raw',
      '-e',
      'signed-integer',
      '-b',
      '16',
      '-r',
      String(RATE),
      '-c',
      '1',
      '-',
      '-t',
      'raw',
      '-e',
      'mu-law',
      '-b',
      '8',
      '-r',
      String(RATE),
      '-c',
      '1',
      '-',
    ],
    int16ToBuffer(line),
  );
  if (mulaw.length !== n) throw new Error(`${name}: sox returned ${mulaw.length} bytes, expected ${n}`);

  const inHole = (slot) => call.holes.some(([a, b]) => slot >= a && slot < b);
  const callSid = sid('CA', `call:${name}`);
  const streamSids = [sid('MZ', `stream:${name}:1`)];
  const frames = [];
  let seq = 0;
  let streamSid = streamSids[0];
  let chunk = 0;
  let streamStartSlot = 0;
  let inboundMediaBytes = 0;
  const dtmf = [];

  const start = () => ({
    event: 'start',
    sequenceNumber: String(++seq),
    start: {
      accountSid: ACCOUNT_SID,
      streamSid,
      callSid,
      tracks: ['inbound'],
      customParameters: { ...CUSTOM_PARAMETERS },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: RATE, channels: 1 },
    },
    streamSid,
  });

  frames.push({ t: 0, frame: { event: 'connected', protocol: 'Call', version: '1.0.0' } });
  frames.push({ t: 0, frame: start() });

  const eventsBySlot = new Map();
  for (const e of call.events) {
    if (e.slot > totalSlots) throw new Error(`${name}: event past the end of the call`);
    const list = eventsBySlot.get(e.slot) ?? [];
    list.push(e);
    eventsBySlot.set(e.slot, list);
  }

  for (let slot = 0; slot <= totalSlots; slot++) {
    const t = slot * FRAME_MS;
    for (const e of eventsBySlot.get(slot) ?? []) {
      if (e.kind === 'dtmf') {
        dtmf.push(e.data);
        frames.push({
          t,
          frame: {
            event: 'dtmf',
            streamSid,
            sequenceNumber: String(++seq),
            dtmf: { track: 'inbound_track', digit: e.data },
          },
        });
      } else if (e.kind === 'mark') {
        frames.push({
          t,
          frame: { event: 'mark', sequenceNumber: String(++seq), streamSid, mark: { name: e.data } },
        });
      } else if (e.kind === 'restart') {
        streamSid = sid('MZ', `stream:${name}:${streamSids.length + 1}`);
        streamSids.push(streamSid);
        chunk = 0;
        streamStartSlot = slot;
        frames.push({ t, frame: start() });
      } else {
        throw new Error(`unknown event ${e.kind}`);
      }
    }
    if (slot === totalSlots || inHole(slot)) continue;
    const payload = mulaw.subarray(slot * FRAME_SAMPLES, (slot + 1) * FRAME_SAMPLES);
    inboundMediaBytes += payload.length;
    frames.push({
      t,
      frame: {
        event: 'media',
        sequenceNumber: String(++seq),
        media: {
          track: 'inbound',
          chunk: String(++chunk),
          timestamp: String((slot - streamStartSlot) * FRAME_MS),
          payload: payload.toString('base64'),
        },
        streamSid,
      },
    });
  }
  if (call.stop) {
    frames.push({
      t: totalSlots * FRAME_MS,
      frame: {
        event: 'stop',
        sequenceNumber: String(++seq),
        stop: { accountSid: ACCOUNT_SID, callSid },
        streamSid,
      },
    });
  }

  if (call.late.length > 0) applyLateFrames(frames, call.late);

  // Utterances as heard through the line: the placed speech, minus any part lost in a hole.
  const utterances = [];
  for (const p of call.placed) {
    const startMs = p.slot * FRAME_MS;
    const endMs = startMs + Math.round((p.samples.length * 1000) / RATE);
    let pieces = [[startMs, endMs]];
    for (const [a, b] of call.holes) {
      const ha = a * FRAME_MS;
      const hb = b * FRAME_MS;
      pieces = pieces.flatMap(([s, e]) => {
        if (e <= ha || s >= hb) return [[s, e]];
        const out = [];
        if (s < ha) out.push([s, ha]);
        if (e > hb) out.push([hb, e]);
        return out;
      });
    }
    for (const [s, e] of pieces) utterances.push({ startMs: s, endMs: e });
  }

  const expect = {
    dtmf,
    customParameters: { ...CUSTOM_PARAMETERS },
    callSid,
    streamSids,
    inboundMediaBytes,
  };
  if (call.holes.length > 0) {
    expect.gapMs = call.holes.reduce((sum, [a, b]) => sum + (b - a) * FRAME_MS, 0);
  }
  expect.utterances = utterances;
  expect.durationMs = frames[frames.length - 1].t;

  const header = { trace: { name, description, source: SOURCE, hazards, expect } };
  const text = [header, ...frames].map((o) => JSON.stringify(o)).join('\n') + '\n';
  // A call of more than 1 MB of JSON ships gzip-compressed (the parser reads `.jsonl.gz` as is).
  const compress = text.length > 1_000_000;
  const file = path.join(TRACES_DIR, `${name}.jsonl${compress ? '.gz' : ''}`);
  rmSync(path.join(TRACES_DIR, `${name}.jsonl${compress ? '' : '.gz'}`), { force: true });
  writeFileSync(file, compress ? gzipSync(text, { level: 9 }) : text);

  // Self-check: decode what was written and compare speech to quiet levels.
  const decoded = int16FromBuffer(
    run(
      'sox',
      [
        '-D',
        '-t',
        'raw',
        '-e',
        'mu-law',
        '-b',
        '8',
        '-r',
        String(RATE),
        '-c',
        '1',
        '-',
        '-t',
        'raw',
        '-e',
        'signed-integer',
        '-b',
        '16',
        '-',
      ],
      mulaw,
    ),
  );
  const speechMask = new Uint8Array(n);
  for (const u of utterances) speechMask.fill(1, (u.startMs * RATE) / 1000, (u.endMs * RATE) / 1000);
  let sp = 0,
    spN = 0,
    qu = 0,
    quN = 0;
  for (let slot = 0; slot < totalSlots; slot++) {
    if (inHole(slot)) continue;
    for (let i = slot * FRAME_SAMPLES; i < (slot + 1) * FRAME_SAMPLES; i++) {
      const v = decoded[i] * decoded[i];
      if (speechMask[i]) {
        sp += v;
        spN++;
      } else {
        qu += v;
        quN++;
      }
    }
  }
  const speechDb = dbfs(Math.sqrt(sp / spN));
  const quietDb = dbfs(Math.sqrt(qu / quN));
  const media = frames.filter((f) => f.frame.event === 'media').length;
  console.log(
    `wrote ${rel(file)}  ${kb(file)}  ${(expect.durationMs / 1000).toFixed(2)} s  ` +
      `${frames.length} frames (${media} media)  hazards=[${hazards.join(',')}]  ` +
      `speech ${speechDb.toFixed(1)} dBFS / quiet ${quietDb.toFixed(1)} dBFS  ` +
      `utterances ${utterances.map((u) => `${u.startMs}-${u.endMs}`).join(' ')}`,
  );
  if (speechDb - quietDb < 25) throw new Error(`${name}: speech is not 25 dB above the quiet parts`);
}

// ---------------------------------------------------------------------------------------------
// The corpus

function corpus() {
  const defs = [];

  {
    const call = new Call('two-turn').quiet(500).say('weather').quiet(6000).say('thanks').quiet(6000);
    defs.push({
      name: 'two-turn',
      description: 'A caller asks about the weather, waits through the reply, says thanks and the call stops.',
      hazards: [],
      call,
    });
  }
  {
    const call = new Call('barge-in').quiet(500).say('weather').quiet(1800).say('sorry').quiet(6000);
    defs.push({
      name: 'barge-in',
      description: 'The caller starts speaking again 1.8 s after the first question, while the reply is playing.',
      hazards: ['barge-in'],
      call,
    });
  }
  {
    const call = new Call('dtmf').quiet(500).say('account').quiet(1000);
    ['1', '2', '3', '#'].forEach((d, i) => call.at(i * 300, 'dtmf', d));
    call.quiet(900 + 6000);
    defs.push({
      name: 'dtmf',
      description: 'The caller asks to enter an account number and presses 1, 2, 3, # 300 ms apart.',
      hazards: ['dtmf'],
      call,
    });
  }
  {
    const call = new Call('timestamp-gap').quiet(500).say('weather').quiet(6000);
    const holeFrom = call.cursor + msToFrames(1200);
    call.say('reference').quiet(6000).hole(holeFrom, 2000);
    defs.push({
      name: 'timestamp-gap',
      description:
        'Two seconds of media frames are lost in the middle of the second utterance: timestamps jump by 2020 ms.',
      hazards: ['timestamp-gap'],
      call,
    });
  }
  {
    const call = new Call('marks-after-clear').quiet(500).say('weather').quiet(1800);
    call.at(60, 'mark', 'stale-from-previous-generation').at(60, 'mark', 'unknown-label-7');
    call.say('sorry').quiet(6000);
    defs.push({
      name: 'marks-after-clear',
      description:
        'A barge-in during which Twilio delivers two marks the bridge never sent, right after the caller speaks up.',
      hazards: ['barge-in', 'marks-after-clear'],
      call,
    });
  }
  {
    const call = new Call('no-stop').quiet(500).say('weather').quiet(5000).noStop();
    defs.push({
      name: 'no-stop',
      description: 'A short call that ends with the socket closing and no stop message.',
      hazards: ['no-stop'],
      call,
    });
  }
  {
    const call = new Call('early-media').say('hello').quiet(6000).say('thanks').quiet(6000);
    defs.push({
      name: 'early-media',
      description: 'The caller speaks from the very first media frame, before the model connection is ready.',
      hazards: ['early-media'],
      call,
    });
  }
  {
    const call = new Call('second-start').quiet(500).say('weather').quiet(6000);
    call.at(0, 'restart');
    call.quiet(500).say('thanks').quiet(6000);
    defs.push({
      name: 'second-start',
      description:
        'After the first turn Twilio sends a second start with a new streamSid for the same call, and media restarts at chunk 1.',
      hazards: ['second-start'],
      call,
    });
  }
  {
    // The call of the example server's demo (examples/twilio-fastify). Its simulator says reply 1,
    // calls the weather tool, then says replies 3, 4 and 5, one per caller turn; the replayer's
    // default script has reply 2 follow the tool call at once, inside the 5 s pause after it.
    const call = new Call('demo-call').quiet(500).say('weather').quiet(5200).say('paris');
    call.quiet(5000).say('like').quiet(1600).say('great');
    ['1', '2', '#'].forEach((d, i) => call.at(5200 + i * 300, 'dtmf', d));
    call.quiet(6600).say('goodbye').quiet(5000);
    defs.push({
      name: 'demo-call',
      description:
        'A whole conversation: a question, a weather tool call and its answer, a barge-in about 1 s into the spoken answer, digits 1, 2, # in a quiet moment, then goodbye and stop.',
      hazards: ['barge-in', 'dtmf'],
      call,
    });
  }
  {
    const call = new Call('long-call').quiet(1000);
    const cycle = ['weather', 'order', 'hours', 'weekend', 'repeat'];
    const every = 20000;
    for (let i = 0; i < 15; i++) {
      const target = msToFrames(1000 + i * every);
      if (call.cursor < target) call.cursor = target;
      call.say(cycle[i % cycle.length]);
    }
    const end = msToFrames(310000);
    call.cursor = Math.max(call.cursor, end);
    defs.push({
      name: 'long-call',
      description: 'A call of five minutes and ten seconds with a caller utterance about every 20 s.',
      hazards: ['long-call'],
      call,
    });
  }
  {
    // Telnyx does not promise ordered media: frames arrive late, within the reorder window a
    // bridge keeps (a frame every 9 arrives 1 to 3 frames late).
    const call = new Call('out-of-order').quiet(500).say('weather').quiet(6000).say('thanks').quiet(6000);
    call.outOfOrder(5, 9, [1, 3, 2]);
    defs.push({
      name: 'out-of-order',
      description:
        'The baseline call with media frames delivered out of order: one frame in nine arrives one to three frames late, with its own chunk, timestamp and sequence number.',
      hazards: ['out-of-order'],
      call,
    });
  }
  {
    // Plivo drops the checkpoints pending at a clearAudio without echoing them: the replayer
    // drops them on every carrier for this trace, and the call barges in twice.
    const call = new Call('clear-without-echo')
      .quiet(500)
      .say('weather')
      .quiet(1800)
      .say('sorry')
      .quiet(1800)
      .say('like')
      .quiet(6000);
    defs.push({
      name: 'clear-without-echo',
      description:
        'Two barge-ins in a row; the carrier never echoes the marks pending at a clear, and the reply after the second plays to the end.',
      hazards: ['barge-in', 'clear-without-echo'],
      call,
    });
  }
  {
    // The model's audio comes in deltas of uneven sizes (the replayer's UNEVEN_DELTAS_MS): the
    // carrier's frame rules (Exotel: 3.2 KB to 100 KB in multiples of 320 B) must hold for all.
    const call = new Call('uneven-deltas').quiet(500).say('weather').quiet(1800).say('sorry').quiet(6000);
    defs.push({
      name: 'uneven-deltas',
      description:
        'A barge-in call whose agent audio arrives in deltas of uneven sizes, from a few samples to seconds: every frame the bridge sends must still follow the carrier rules.',
      hazards: ['barge-in', 'uneven-deltas'],
      call,
    });
  }
  {
    // An 18 s reply generated at twice real time, to a carrier that never acknowledges a mark:
    // the bridge's own playout clock must pace it and place the barge-in 9 s into it.
    const call = new Call('long-reply-no-acks')
      .quiet(500)
      .say('weather')
      .quiet(800 + 9000)
      .say('sorry')
      .quiet(6000);
    defs.push({
      name: 'long-reply-no-acks',
      description:
        'The first reply lasts 18 s and the carrier acknowledges no mark; the caller barges in about 9 s into it, then lets the next reply play out.',
      hazards: ['barge-in', 'long-reply', 'no-mark-acks'],
      call,
    });
  }
  return defs;
}

// ---------------------------------------------------------------------------------------------

const rel = (p) => path.relative(process.cwd(), p) || p;
const kb = (p) => `${(statSync(p).size / 1024).toFixed(1)} KiB`;

function main() {
  requireTools();
  tmp = mkdtempSync(path.join(tmpdir(), 'switchboard-corpus-'));
  try {
    makeAgentReplies();
    mkdirSync(TRACES_DIR, { recursive: true });
    for (const [key, text] of Object.entries(UTTERANCES)) {
      const s = speech(key);
      console.log(
        `caller utterance ${key}: ${((s.length * 1000) / RATE).toFixed(0)} ms, ` +
          `${dbfs(rms(s)).toFixed(1)} dBFS  "${text}"`,
      );
    }
    for (const def of corpus()) buildTrace(def);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
