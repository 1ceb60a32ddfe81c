#!/usr/bin/env node
// Derives corpus traces from the frames of other corpus traces, without synthesizing anything:
//   - traces/agent-hangup.jsonl: the caller's "Thanks, goodbye." from demo-call.jsonl, then the
//     line's comfort noise until the bridge ends the call; no `stop` (the agent hangs up);
//   - traces/slow-tool.jsonl: the caller's weather question from two-turn.jsonl, then the line's
//     comfort noise while the agent's slow tool runs and it answers, then `stop`.
//
// Each derived call is the source's media payloads, byte for byte: 500 ms of the line before the
// utterance, the utterance and what follows it in the source while it stays quiet, then quiet
// frames of the same source (every media frame at least 400 ms from any of its utterances), in
// order, cycled, until the call is long enough. Frames are renumbered (sequenceNumber, chunk,
// timestamp, t) and the ids derived from the new trace's name, as make-corpus.mjs derives them.
//
// Usage: node test-harness/scripts/derive-traces.mjs   (no tools needed; re-running it rewrites the same bytes)

import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TRACES_DIR = path.resolve(HERE, '..', 'traces');
const FRAME_MS = 20;
const PRE_ROLL_MS = 500;
/** Media frames this close to an utterance (ms) are not taken as quiet line. */
const QUIET_MARGIN_MS = 400;

const sha = (s) => createHash('sha256').update(s).digest('hex');
const sid = (prefix, seed) => prefix + sha(`switchboard-corpus:${seed}`).slice(0, 32);

function readTrace(name) {
  const lines = readFileSync(path.join(TRACES_DIR, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
  const header = lines[0].trace;
  const frames = lines.slice(1);
  const start = frames.find((f) => f.frame.event === 'start').frame;
  // The source's media payloads by their timestamp (20 ms slots; the corpus sources have no holes).
  const media = frames
    .filter((f) => f.frame.event === 'media')
    .map((f) => ({ at: Number(f.frame.media.timestamp), payload: f.frame.media.payload }));
  return { header, start, media, utterances: header.expect.utterances };
}

/**
 * A derived call: `utterance` (an index into the source's utterances) placed at `PRE_ROLL_MS`,
 * then quiet line until `durationMs`.
 */
function derive(source, utterance, durationMs) {
  const u = source.utterances[utterance];
  const from = u.startMs - PRE_ROLL_MS;
  const next = source.utterances[utterance + 1]?.startMs ?? Infinity;
  // The utterance with the line around it, up to where the source's next utterance comes near.
  const head = source.media.filter((m) => m.at >= from && m.at < Math.min(next - QUIET_MARGIN_MS, from + durationMs));
  const quiet = source.media.filter((m) =>
    source.utterances.every((o) => m.at + FRAME_MS <= o.startMs - QUIET_MARGIN_MS || m.at >= o.endMs + QUIET_MARGIN_MS),
  );
  const payloads = head.map((m) => m.payload);
  for (let k = 0; payloads.length * FRAME_MS < durationMs; k++) payloads.push(quiet[k % quiet.length].payload);
  return { payloads, utterance: { startMs: PRE_ROLL_MS, endMs: u.endMs - from } };
}

function write(name, { description, hazards, stop }, source, derived) {
  const callSid = sid('CA', `call:${name}`);
  const streamSid = sid('MZ', `stream:${name}:1`);
  const accountSid = source.start.start.accountSid;
  const customParameters = { ...source.start.start.customParameters };
  let seq = 0;
  const frames = [
    { t: 0, frame: { event: 'connected', protocol: 'Call', version: '1.0.0' } },
    {
      t: 0,
      frame: {
        event: 'start',
        sequenceNumber: String(++seq),
        start: {
          accountSid,
          streamSid,
          callSid,
          tracks: ['inbound'],
          customParameters,
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
        streamSid,
      },
    },
  ];
  derived.payloads.forEach((payload, k) => {
    frames.push({
      t: k * FRAME_MS,
      frame: {
        event: 'media',
        sequenceNumber: String(++seq),
        media: { track: 'inbound', chunk: String(k + 1), timestamp: String(k * FRAME_MS), payload },
        streamSid,
      },
    });
  });
  const end = derived.payloads.length * FRAME_MS;
  if (stop) {
    frames.push({
      t: end,
      frame: { event: 'stop', sequenceNumber: String(++seq), stop: { accountSid, callSid }, streamSid },
    });
  }
  const expect = {
    dtmf: [],
    customParameters,
    callSid,
    streamSids: [streamSid],
    inboundMediaBytes: derived.payloads.reduce((n, p) => n + Buffer.from(p, 'base64').length, 0),
    utterances: [derived.utterance],
    durationMs: frames.at(-1).t,
  };
  const header = {
    trace: {
      name,
      description,
      source:
        `derived from the corpus trace ${source.header.name}.jsonl (${source.header.source}): its media payloads ` +
        'byte for byte, renumbered, by test-harness/scripts/derive-traces.mjs',
      hazards,
      expect,
    },
  };
  const file = path.join(TRACES_DIR, `${name}.jsonl`);
  writeFileSync(file, [header, ...frames].map((o) => JSON.stringify(o)).join('\n') + '\n');
  console.log(
    `wrote ${path.relative(process.cwd(), file)}  ${(statSync(file).size / 1024).toFixed(1)} KiB  ` +
      `${(expect.durationMs / 1000).toFixed(2)} s  ${frames.length} frames  hazards=[${hazards.join(',')}]  ` +
      `utterance ${derived.utterance.startMs}-${derived.utterance.endMs}`,
  );
}

const demo = readTrace('demo-call');
write(
  'agent-hangup',
  {
    description:
      'The caller says goodbye; the agent answers with its goodbye and calls end_call in the same response. The line stays open (comfort noise) until the bridge ends the call: no stop.',
    hazards: ['agent-hangup', 'no-stop'],
    stop: false,
  },
  demo,
  derive(demo, demo.utterances.length - 1, 12_000),
);

const twoTurn = readTrace('two-turn');
write(
  'slow-tool',
  {
    description:
      'The caller asks about the weather; the agent calls a tool that takes 4 s, the bridge plays filler audio while it runs, then the agent answers and the call stops.',
    hazards: ['slow-tool'],
    stop: true,
  },
  twoTurn,
  derive(twoTurn, 0, 13_000),
);
