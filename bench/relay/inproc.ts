/**
 * The relay's CPU per call in one process, sockets replaced by in-memory fakes: what a transport's
 * own JavaScript (and the SDK's under it) costs per call, without the kernel, the other processes
 * and the scheduling noise of the whole-process bench (`run.ts`), so that changes of a few per
 * cent to the hot path can be told apart.
 *
 * The traffic is one call of the relay bench, captured once by `inproc-capture.ts` (Twilio frames
 * from the caller and the model's messages, in the order the bridge got them) into
 * `out/relay-inproc-capture.json`. Each replayed call builds its transport and `RealtimeSession`
 * as `bridge.ts` does, on a fake Twilio socket (a `ws`-shaped EventEmitter) and a fake model
 * socket (made through the SDK's `createWebSocket` hook); the bare floor (`floor.ts`, no session)
 * gets a `ws`-shaped fake model socket, and not the conversation items the captured session
 * retrieved, which it never asks for. Each call is fed the captured messages in order,
 * a batch at a time with a turn of the event loop between batches, and hangs up. Mark echoes are
 * renamed to the marks the replayed transport sent (the n-th captured echo of the n-th mark), so
 * that acks are real.
 *
 * After a warm-up round, each round replays `--calls` calls per implementation in slices of
 * `--concurrency` calls (run at once, their batches interleaved, as a bridge runs its live calls),
 * the implementations' slices alternating so that both see the same load on the machine. It
 * reports CPU per call and per message: the process's (user + system, with V8's GC and compiler
 * threads) as the mean over the round and as the median of the slices, the main thread's alone
 * (Linux `schedstat`), and wall time; then the medians of the rounds and the ratio of Switchboard
 * to the session floor and of both to the bare floor. It fails when a replayed call forwarded no
 * audio either way.
 *
 * The figures are of JavaScript with no socket I/O: the kernel's share of the whole-process bench
 * (`writev`, `epoll`) is not in them. They depend on how the calls' messages interleave, since that
 * decides how warm each call's state is in the CPU's caches: the defaults (10 calls at a time,
 * batches of 10) repeat within about 2 % and put Switchboard at about 1.2 × the session floor; with
 * `--concurrency 100 --batch 1` every message of a call follows one of each other call, as in a
 * bridge carrying 100 calls, and the ratio is about 1.6, but it repeats only within about 10 % on
 * a busy machine. With one call at a time both cost more per call, the session floor most. Compare
 * figures of the same settings only.
 *
 *   node --import tsx relay/inproc.ts [--impl switchboard,session-floor,floor] [--calls 200] [--rounds 5]
 *        [--batch 10] [--concurrency 10] [--capture out/relay-inproc-capture.json] [--recapture]
 *        [--source] [--json]
 *
 * With `INPROC_PROF=<folder>` in the environment the child that replays the calls writes a V8 CPU
 * profile (`--cpu-prof`) into that folder.
 *
 * The Switchboard packages are loaded as published (their built `dist`), as in `run.ts`; with
 * `--source` the workspace sources are loaded instead (no rebuild needed between edits, though
 * transpiled by tsx rather than tsup).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { collectGarbage, exited, startChild } from '../shared.js';
import type { Capture } from './inproc-capture.js';
import { median, wallNow } from './shared.js';

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'switchboard,session-floor,floor' },
    calls: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '10' },
    capture: { type: 'string' },
    recapture: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

type InprocImpl = 'switchboard' | 'session-floor' | 'floor';
const IMPLS: readonly InprocImpl[] = ['switchboard', 'session-floor', 'floor'];
const impls = values.impl!.split(',').map((impl) => impl.trim()) as InprocImpl[];
for (const impl of impls) if (!IMPLS.includes(impl)) throw new Error(`--impl: ${impl} (${IMPLS.join(', ')})`);
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const concurrency = Number(values.concurrency);
for (const [name, n] of Object.entries({ calls, rounds, batch, concurrency }))
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: ${n}`);

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const capturePath = values.capture ?? here('../out/relay-inproc-capture.json');
const CHILD = 'RELAY_INPROC_MEASURE';

if (!process.env[CHILD]) {
  // Capture first (once), then measure in a child that loads the packages as `run.ts`'s bridge does.
  if (values.recapture || !existsSync(capturePath)) {
    const { runCapture } = await import('./inproc-capture.js');
    await runCapture({ out: capturePath });
  }
  process.env[CHILD] = '1';
  const child = startChild(here('./inproc.ts'), process.argv.slice(2), {
    dist: !values.source,
    ...(process.env.INPROC_PROF ? { cpuProfileDir: process.env.INPROC_PROF } : {}),
  });
  await exited(child);
  process.exit(child.exitCode ?? 1);
}

const [
  { EventEmitter },
  { RealtimeSession },
  { conformanceAgent },
  { TwilioRealtimeTransport },
  { SessionFloorTransport },
  { floorRelay },
] = await Promise.all([
  import('node:events'),
  import('@openai/agents/realtime'),
  import('@switchboard/conformance'),
  import('@switchboard/twilio'),
  import('./session-floor.js'),
  import('./floor.js'),
]);

const capture = JSON.parse(readFileSync(capturePath, 'utf8')) as Capture;
const URL_ = 'ws://127.0.0.1:1/v1/realtime?model=gpt-realtime';

/** A message ready to feed: Twilio frames as the Buffers `ws` hands out, made once for all calls. */
type Feed =
  | { from: 'twilio'; data: Buffer; media: boolean }
  | { from: 'mark'; text: string; name: string; index: number }
  | { from: 'model'; text: string; data: Buffer; retrieved: boolean };
const markIndex = new Map(capture.marksSent.map((name, i) => [name, i]));
const feed: Feed[] = capture.messages.map((m): Feed => {
  if (m.from === 'model')
    return {
      from: 'model',
      text: m.text,
      data: Buffer.from(m.text),
      retrieved: m.text.includes('"type":"conversation.item.retrieved"'),
    };
  const frame = JSON.parse(m.text) as { event: string; mark?: { name: string } };
  if (frame.event === 'mark' && frame.mark && markIndex.has(frame.mark.name))
    return { from: 'mark', text: m.text, name: frame.mark.name, index: markIndex.get(frame.mark.name)! };
  return { from: 'twilio', data: Buffer.from(m.text), media: frame.event === 'media' };
});
const mediaFed = feed.filter((f) => f.from === 'twilio' && f.media).length;
const firstModel = feed.findIndex((f) => f.from === 'model');

/** The part of a `ws` server-side socket the transports use, in memory. */
class FakeTwilioSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  mediaSent = 0;
  marksSent: string[] = [];
  readonly _socket = { cork: () => undefined, uncork: () => undefined };

  send(data: string | Uint8Array, callback?: (error?: Error) => void): void {
    const text = typeof data === 'string' ? data : '';
    // Frames are recognised by their prefix, as written by both transports (no parse in the window).
    if (text.startsWith('{"event":"media"')) this.mediaSent++;
    else if (text.startsWith('{"event":"mark"')) {
      const at = text.indexOf('"name":"') + 8;
      this.marksSent.push(text.slice(at, text.indexOf('"', at)));
    }
    callback?.();
  }

  ping(): void {}

  close(code = 1000): void {
    if (this.readyState !== 1) return;
    this.readyState = 2;
    setImmediate(() => {
      this.readyState = 3;
      this.emit('close', code, Buffer.alloc(0));
    });
  }

  terminate(): void {
    this.close(1006);
  }

  /** The caller hangs up. */
  hangUp(): void {
    this.close(1000);
  }
}

type Listener = (event: unknown) => void;

/** The part of a WebSocket the SDK's model connection uses, in memory. */
class FakeModelSocket {
  readyState = 0;
  appends = 0;
  sent = 0;
  readonly #listeners = new Map<string, Listener[]>();

  addEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener);
    this.#listeners.set(type, list);
  }

  removeEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type);
    if (list)
      this.#listeners.set(
        type,
        list.filter((l) => l !== listener),
      );
  }

  #dispatch(type: string, event: unknown): void {
    const list = this.#listeners.get(type);
    if (list) for (const listener of list) listener(event);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('model socket not open');
    this.sent++;
    if (data.startsWith('{"type":"input_audio_buffer.append"')) this.appends++;
  }

  open(): void {
    this.readyState = 1;
    this.#dispatch('open', { type: 'open' });
  }

  deliver(message: { text: string }): void {
    if (this.readyState === 1) this.#dispatch('message', { type: 'message', data: message.text });
  }

  close(code = 1000): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setImmediate(() => {
      this.readyState = 3;
      this.#dispatch('close', { type: 'close', code, reason: '', wasClean: true });
    });
  }
}

/** The part of a `ws` client socket the floor uses, in memory: messages come as the Buffers `ws` hands out. */
class FakeWsModelSocket extends EventEmitter {
  readyState = 0;
  appends = 0;

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('model socket not open');
    if (data.startsWith('{"type":"input_audio_buffer.append"')) this.appends++;
  }

  open(): void {
    this.readyState = 1;
    this.emit('open');
  }

  /**
   * A model message. The floor asks for no conversation items, so the items the captured session
   * retrieved are not sent to it.
   */
  deliver(message: { data: Buffer; retrieved: boolean }): void {
    if (this.readyState === 1 && !message.retrieved) this.emit('message', message.data, false);
  }

  close(): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setImmediate(() => {
      this.readyState = 3;
      this.emit('close', 1000, Buffer.alloc(0));
    });
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

type CallCounts = { appends: number; mediaSent: number; marksSent: number; marksRenamed: number; errors: number };

const agent = conformanceAgent();

/** What the replay needs of a call's model socket. */
type ReplayedModel = { open(): void; deliver(message: Extract<Feed, { from: 'model' }>): void };

/**
 * Feeds the captured call to a relay, a batch at a time, and hangs up. `model()` is the call's
 * model socket once the relay has opened one; it opens before its first message, as it did in the
 * capture. Returns how many mark echoes answered marks the relay had sent.
 */
async function feedCall(twilio: FakeTwilioSocket, model: () => ReplayedModel | undefined): Promise<number> {
  let marksRenamed = 0;
  for (let i = 0; i < feed.length; i++) {
    if (i === firstModel) {
      while (!model()) await turn();
      model()!.open();
      await turn();
    } else if (i % batch === 0) await turn();
    const message = feed[i]!;
    if (message.from === 'twilio') twilio.emit('message', message.data, false);
    else if (message.from === 'model') model()!.deliver(message);
    else marksRenamed += echoMark(twilio, message);
  }
  await turn();
  twilio.hangUp();
  await turn();
  await turn();
  return marksRenamed;
}

/** The floor's call: no transport and no session. */
async function replayFloorCall(): Promise<CallCounts> {
  const twilio = new FakeTwilioSocket();
  const model = new FakeWsModelSocket();
  floorRelay(twilio as never, model);
  const marksRenamed = await feedCall(twilio, () => model);
  return {
    appends: model.appends,
    mediaSent: twilio.mediaSent,
    marksSent: twilio.marksSent.length,
    marksRenamed,
    errors: 0,
  };
}

/**
 * The echo of the n-th mark the bridge sent, named as the replayed relay named it: 1 when the
 * relay had sent that mark (the echo is then real), else 0.
 */
function echoMark(twilio: FakeTwilioSocket, message: Extract<Feed, { from: 'mark' }>): number {
  const name = twilio.marksSent[message.index];
  const text =
    name && name !== message.name ? message.text.replace(`"name":"${message.name}"`, `"name":"${name}"`) : message.text;
  twilio.emit('message', Buffer.from(text), false);
  return name ? 1 : 0;
}

async function replayCall(impl: InprocImpl): Promise<CallCounts> {
  if (impl === 'floor') return replayFloorCall();
  const twilio = new FakeTwilioSocket();
  let model: FakeModelSocket | undefined;
  const createWebSocket = async () => (model = new FakeModelSocket());
  const transport =
    impl === 'switchboard'
      ? new TwilioRealtimeTransport({
          twilioWebSocket: twilio as never,
          url: URL_,
          createWebSocket: createWebSocket as never,
        })
      : new SessionFloorTransport(twilio as never, URL_, { createWebSocket: createWebSocket as never });
  const session = new RealtimeSession(agent, {
    transport,
    model: 'gpt-realtime',
    config: { audio: { input: { format: 'g711_ulaw' }, output: { format: 'g711_ulaw' } } },
  });
  let errors = 0;
  session.on('error', () => {
    errors++;
  });
  twilio.on('close', () => session.close());
  session.connect({ apiKey: 'sk-bench' }).catch(() => {
    errors++;
  });
  const marksRenamed = await feedCall(twilio, () => model);
  return {
    appends: model?.appends ?? 0,
    mediaSent: twilio.mediaSent,
    marksSent: twilio.marksSent.length,
    marksRenamed,
    errors,
  };
}

/**
 * CPU time of this (the main) thread, in µs, at nanosecond resolution where Linux tells it
 * (`schedstat`): the transport's JavaScript without V8's concurrent GC and compiler threads.
 */
function mainThreadUs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

type Sample = { cpuUs: number; mainUs: number; wallUs: number; counts: CallCounts };

/** One slice: `n` calls of one implementation, `concurrency` of them at a time. */
async function slice(impl: InprocImpl, n: number): Promise<Sample> {
  const counts: CallCounts = { appends: 0, mediaSent: 0, marksSent: 0, marksRenamed: 0, errors: 0 };
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadUs();
  const wall0 = wallNow();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const call = await replayCall(impl);
      for (const key of Object.keys(counts) as Array<keyof CallCounts>) counts[key] += call[key];
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, mainUs: mainThreadUs() - main0, wallUs: (wallNow() - wall0) * 1000, counts };
}

/** One implementation's round: totals over its calls, and the CPU per call of each of its slices. */
type Round = Sample & { impl: InprocImpl; sliceCpuUs: number[]; sliceMainUs: number[] };

/**
 * A round: `calls` calls of each implementation, in slices of `concurrency` calls that alternate
 * between the implementations (in the order A B, then B A), so that both run on the same machine
 * as the load of the rest of it comes and goes.
 */
async function round(index: number): Promise<Round[]> {
  collectGarbage();
  const rounds = new Map(
    impls.map((impl): [InprocImpl, Round] => [
      impl,
      {
        impl,
        cpuUs: 0,
        mainUs: 0,
        wallUs: 0,
        counts: { appends: 0, mediaSent: 0, marksSent: 0, marksRenamed: 0, errors: 0 },
        sliceCpuUs: [],
        sliceMainUs: [],
      },
    ]),
  );
  for (let k = 0; k * concurrency < calls; k++) {
    const n = Math.min(concurrency, calls - k * concurrency);
    for (const impl of (k + index) % 2 === 0 ? impls : [...impls].reverse()) {
      const sample = await slice(impl, n);
      const r = rounds.get(impl)!;
      r.cpuUs += sample.cpuUs;
      r.mainUs += sample.mainUs;
      r.wallUs += sample.wallUs;
      for (const key of Object.keys(r.counts) as Array<keyof CallCounts>) r.counts[key] += sample.counts[key];
      r.sliceCpuUs.push(sample.cpuUs / n);
      r.sliceMainUs.push(sample.mainUs / n);
    }
  }
  return [...rounds.values()];
}

/** CPU per call: the mean over the round's calls, and the median of its slices (robust to bursts of load). */
const perCall = (r: Round) => r.cpuUs / calls;
const slicePerCall = (r: Round) => median(r.sliceCpuUs);
const mainSlicePerCall = (r: Round) => median(r.sliceMainUs);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

const log = values.json ? () => undefined : (line: string) => console.log(line);
log(
  `in-process relay: ${calls} calls × ${feed.length} messages of "${capture.trace}" (${capture.seconds.toFixed(1)} s; ` +
    `${mediaFed} media frames, ${feed.filter((f) => f.from === 'model').length} model messages), batches of ${batch}, ` +
    `slices of ${concurrency} calls at a time, ${rounds} round(s) after a warm-up; ` +
    `packages from ${values.source ? 'source' : 'dist'}; node ${process.version}`,
);

/** Heap held after a full collection, and what keeps the event loop alive: a call that did not end shows here. */
function leftOver(): { heapBytes: number; resources: string[] } {
  collectGarbage();
  return {
    heapBytes: process.memoryUsage().heapUsed,
    resources: process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap'),
  };
}

await round(1); // warm-up
const before = leftOver();

const byRound: Round[][] = [];
for (let index = 0; index < rounds; index++) {
  const results = await round(index);
  byRound.push(results);
  log(
    `  round ${index + 1}: ` +
      results
        .map(
          (r) =>
            `${r.impl} ${fmt(perCall(r))} µs/call (slice median ${fmt(slicePerCall(r))}, ` +
            `main thread ${fmt(mainSlicePerCall(r))}, wall ${fmt(r.wallUs / calls)})`,
        )
        .join('; '),
  );
}

const of = (results: Round[], impl: InprocImpl) => results.find((r) => r.impl === impl)!;
const summary = impls.map((impl) => {
  const mine = byRound.map((results) => of(results, impl));
  const last = mine[mine.length - 1]!.counts;
  return {
    impl,
    cpuUsPerCall: median(mine.map(perCall)),
    cpuUsPerCallSliceMedian: median(mine.map(slicePerCall)),
    cpuUsPerMessage: median(mine.map(perCall)) / feed.length,
    mainUsPerCallSliceMedian: median(mine.map(mainSlicePerCall)),
    wallUsPerCall: median(mine.map((r) => r.wallUs / calls)),
    perRound: mine.map(perCall),
    // Per call, from the last round.
    appendsPerCall: last.appends / calls,
    mediaSentPerCall: last.mediaSent / calls,
    marksSentPerCall: last.marksSent / calls,
    marksRenamedPerCall: last.marksRenamed / calls,
    errors: Math.max(...mine.map((r) => r.counts.errors)),
  };
});
/** One implementation's CPU over another's: per round, and the median of those. */
function ratioOf(a: InprocImpl, b: InprocImpl, per: (r: Round) => number) {
  const perRound = byRound.map((results) => per(of(results, a)) / per(of(results, b)));
  return { median: median(perRound), perRound };
}
const PAIRS: ReadonlyArray<readonly [InprocImpl, InprocImpl]> = [
  ['switchboard', 'session-floor'],
  ['switchboard', 'floor'],
  ['session-floor', 'floor'],
];
const ratios = PAIRS.filter(([a, b]) => impls.includes(a) && impls.includes(b)).map(([a, b]) => ({
  of: `${a} / ${b}`,
  process: ratioOf(a, b, perCall),
  processSlices: ratioOf(a, b, slicePerCall),
  mainThreadSlices: ratioOf(a, b, mainSlicePerCall),
}));

if (values.json) {
  console.log(
    JSON.stringify({ trace: capture.trace, messages: feed.length, mediaFed, calls, rounds, summary, ratios }, null, 2),
  );
} else {
  log('\nmedian of rounds, µs per call (CPU: user + system of the process; main thread: its CPU alone):');
  for (const s of summary)
    log(
      `  ${s.impl.padEnd(13)} CPU ${fmt(s.cpuUsPerCall).padStart(6)} (slice median ${fmt(s.cpuUsPerCallSliceMedian)}, ` +
        `${fmt(s.cpuUsPerMessage, 2)} per message)  main thread ${fmt(s.mainUsPerCallSliceMedian)}  wall ${fmt(s.wallUsPerCall)}; ` +
        `per call: ${fmt(s.appendsPerCall, 1)} appends to the model (of ${mediaFed} media frames fed), ` +
        `${fmt(s.mediaSentPerCall, 1)} media frames and ${fmt(s.marksSentPerCall, 1)} marks to Twilio, ` +
        `${fmt(s.marksRenamedPerCall, 1)} mark echoes matched; errors ${s.errors}`,
    );
  const line = (r: { perRound: number[]; median: number }) =>
    `${fmt(r.median, 3)} (median); per round ${r.perRound.map((v) => fmt(v, 3)).join(', ')}`;
  for (const ratio of ratios) {
    log(`${ratio.of}, process CPU:          ${line(ratio.process)}`);
    log(`${ratio.of}, process CPU (slices): ${line(ratio.processSlices)}`);
    log(`${ratio.of}, main thread (slices): ${line(ratio.mainThreadSlices)}`);
  }
}

await turn();
const after = leftOver();
const totalCalls = calls * rounds * impls.length;
log(
  `after ${totalCalls} calls: heap ${fmt((after.heapBytes - before.heapBytes) / totalCalls, 0)} bytes/call held; ` +
    `live resources ${after.resources.length > 0 ? after.resources.join(', ') : 'none'}`,
);

for (const s of summary) {
  if (s.appendsPerCall === 0 || s.mediaSentPerCall === 0) {
    console.error(
      `${s.impl}: no audio forwarded (appends ${s.appendsPerCall}, media to Twilio ${s.mediaSentPerCall} per call)`,
    );
    process.exitCode = 1;
  }
}
