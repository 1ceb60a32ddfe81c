/**
 * Relay benchmark: the CPU, memory and fidelity cost of bridging Twilio calls to the Realtime API,
 * Switchboard's TwilioRealtimeTransport against the Agents SDK's TwilioRealtimeTransportLayer.
 *
 * Three processes on loopback: the callers (N concurrent Twilio calls replaying a trace), the
 * bridge under test (measured), and the realtime simulator. The bridge runs once per
 * implementation and round, alternating.
 *
 *   pnpm bench:relay [--calls 20,100] [--seconds 32] [--speed 1] [--rounds 1] [--trace demo-call]
 *                    [--impl all|both|<list of switchboard,sdk,floor,session-floor>] [--cpu-prof] [--json]
 *
 * `--calls` takes one size or several (`20,100`), run one after the other in the same process
 * and simulator. `--impl all` (the default) includes two references: the floor (`floor.ts`), a
 * bare relay that does only the unavoidable work, and the session floor (`session-floor.ts`), the
 * same relay run under a `RealtimeSession` on the SDK's model connection; each size then ends with
 * Switchboard's CPU as a ratio of each, per round (the implementations of one round run back to
 * back) and of the medians. `--impl` also takes a list (`switchboard,floor`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundledTracesDir, loadTrace, traceExpect } from '@switchboard/conformance';
import { nextMessage, startChild, type Message } from '../shared.js';
import {
  median,
  percentile,
  type BridgeReport,
  type CallerCallReport,
  type Impl,
  type SimulatorCallReport,
} from './shared.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20,100' },
    seconds: { type: 'string', default: '32' },
    speed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    trace: { type: 'string', default: 'demo-call' },
    impl: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const sizes = values.calls!.split(',').map((size) => Number(size.trim()));
if (sizes.some((size) => !Number.isInteger(size) || size < 1)) throw new Error(`--calls: ${values.calls}`);
const speed = Number(values.speed);
const rounds = Number(values.rounds);
const tracePath = values.trace!.endsWith('.jsonl') ? values.trace! : `${bundledTracesDir()}/${values.trace}.jsonl`;
const trace = await loadTrace(tracePath);
const seconds = Math.min(Number(values.seconds), traceExpect(trace).durationMs / 1000);
const impls: Impl[] =
  values.impl === 'both'
    ? ['switchboard', 'sdk']
    : values.impl === 'all'
      ? ['switchboard', 'sdk', 'floor', 'session-floor']
      : (values.impl!.split(',') as Impl[]);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const profileDir = here('../out/profiles');
if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });

const IMPL_LABELS: Record<Impl, string> = {
  switchboard: 'Switchboard TwilioRealtimeTransport',
  sdk: 'SDK TwilioRealtimeTransportLayer',
  floor: 'floor (bare relay, reference)',
  'session-floor': 'session floor (RealtimeSession, reference)',
};
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function start(file: string, args: string[]): ChildProcess {
  // The bridge loads the Switchboard packages as published (their built `dist`), as the SDK's are.
  return startChild(here(file), args, { dist: file === './bridge.ts' });
}

const next = (child: ChildProcess, type: string): Promise<Message> => nextMessage(child, type);

type Row = {
  impl: Impl;
  cpuMsPerCallSecond: number;
  usPerFrame: number;
  rssPerCallMb: number;
  /** Heap held per live call mid-run, after a full collection. */
  heapPerCallKb: number;
  inputBytesLost: number;
  outputBytesLost: number;
  truncationErrorP50Ms: number;
  truncationErrorP99Ms: number;
  truncations: number;
  forwardDelayP99Ms: number;
  eventLoopDelayP99Ms: number;
  errors: number;
};

function analyse(bridge: BridgeReport, callers: CallerCallReport[], model: SimulatorCallReport[]): Row {
  const byCall = new Map(model.map((m) => [m.call, m]));
  let inputLost = 0;
  let outputLost = 0;
  let inboundFrames = 0;
  let outboundBytes = 0;
  const truncationErrors: number[] = [];
  const delays: number[] = [];
  for (const caller of callers) {
    inboundFrames += caller.mediaFramesSent;
    outboundBytes += caller.segments.reduce((n, s) => n + s.bytes, 0);
    const sim = byCall.get(caller.call);
    if (!sim) {
      inputLost += caller.mediaBytesSent;
      continue;
    }
    // Input: every media frame the caller sent must reach the model (matched by payload).
    const appended = new Map<number, number[]>();
    for (const [key, at] of sim.appends) {
      const list = appended.get(key) ?? [];
      list.push(at);
      appended.set(key, list);
    }
    // Forwarding delay counts frames sent once the model socket was ready; earlier frames wait
    // for it by design (Switchboard keeps them, the SDK adapter drops them).
    const modelReadyAt = sim.appends[0]?.[1] ?? Infinity;
    for (const [key, sentAt] of caller.sends) {
      const list = appended.get(key);
      const at = list?.shift();
      if (at === undefined) inputLost += 160;
      else if (sentAt >= modelReadyAt) delays.push(at - sentAt);
    }
    // Output: each response's audio, matched to the segment the caller heard it in.
    const audible = sim.responses.filter((r) => r.audioBytesSent > 0 && r.firstAudioAt !== null);
    const matchOf = (firstAt: number) =>
      audible.reduce<(typeof audible)[number] | undefined>(
        (best, r) =>
          best === undefined || Math.abs(r.firstAudioAt! - firstAt) < Math.abs(best.firstAudioAt! - firstAt) ? r : best,
        undefined,
      );
    const received = new Map<string, number>();
    for (const segment of caller.segments) {
      const r = matchOf(segment.firstAt);
      if (r) received.set(r.itemId, (received.get(r.itemId) ?? 0) + segment.bytes);
    }
    const truncated = new Set(sim.truncations.map((t) => t.itemId));
    for (const r of audible) {
      if (r.status !== 'completed' || truncated.has(r.itemId)) continue;
      outputLost += Math.max(0, r.audioBytesSent - (received.get(r.itemId) ?? 0));
    }
    // Truncation: audio_end_ms against what the caller had heard when the clear arrived.
    for (const clear of caller.clears) {
      const segment = caller.segments[clear.segment];
      const r = segment ? matchOf(segment.firstAt) : undefined;
      const candidates = sim.truncations.filter((t) => t.itemId === r?.itemId);
      const t = candidates.sort((a, b) => Math.abs(a.at - clear.at) - Math.abs(b.at - clear.at))[0];
      if (t) truncationErrors.push(Math.abs(t.audioEndMs - clear.heardMs));
    }
  }
  const cpuMs = bridge.cpuUserMs + bridge.cpuSystemMs;
  const callSeconds = callers.length * seconds;
  const frames = inboundFrames + outboundBytes / 160;
  return {
    impl: bridge.impl,
    cpuMsPerCallSecond: cpuMs / callSeconds,
    usPerFrame: (cpuMs * 1000) / frames,
    rssPerCallMb: Math.max(0, bridge.rssPeakBytes - bridge.rssBaselineBytes) / callers.length / 1e6,
    heapPerCallKb: 0,
    inputBytesLost: inputLost,
    outputBytesLost: outputLost,
    truncationErrorP50Ms: percentile(truncationErrors, 50),
    truncationErrorP99Ms: percentile(truncationErrors, 99),
    truncations: truncationErrors.length,
    forwardDelayP99Ms: percentile(delays, 99),
    eventLoopDelayP99Ms: bridge.eventLoopDelayP99Ms,
    errors: bridge.errors + model.reduce((n, m) => n + m.violations, 0),
  };
}

const simulator = start('./simulator.ts', [String(speed)]);
const { url: simulatorUrl } = (await next(simulator, 'ready')) as unknown as { url: string };
/** Every round of every implementation at one size: `rows[round]` holds that round's rows. */
async function runSize(calls: number): Promise<Row[][]> {
  const byRound: Row[][] = [];
  console.error(
    `relay bench: ${calls} calls × ${seconds.toFixed(1)} s of "${trace.header.name}" at ${speed}× real time, ${rounds} round(s)`,
  );
  for (let round = 0; round < rounds; round++) {
    const rows: Row[] = [];
    byRound.push(rows);
    const order = round % 2 === 0 ? impls : [...impls].reverse();
    for (const impl of order) {
      // With --cpu-prof the bridge profiles the measured window (not its start-up) into out/profiles.
      const bridge = start('./bridge.ts', [impl, simulatorUrl, ...(values['cpu-prof'] ? [profileDir] : [])]);
      const { url: bridgeUrl } = (await next(bridge, 'ready')) as unknown as { url: string };
      simulator.send({ type: 'reset' });
      await next(simulator, 'reset-done');
      bridge.send({ type: 'start' });
      await next(bridge, 'started');
      const caller = start('./caller.ts', [bridgeUrl, tracePath, String(calls), String(speed), String(seconds)]);
      const callersDone = next(caller, 'report');
      // Halfway through, every call is live: sample what they hold.
      await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 2 / speed));
      bridge.send({ type: 'sample' });
      const sample = (await next(bridge, 'sample')) as unknown as { heapUsedBytes: number; openCalls: number };
      const { calls: callerReports } = (await callersDone) as unknown as { calls: CallerCallReport[] };
      await new Promise((resolve) => setTimeout(resolve, 500));
      bridge.send({ type: 'stop' });
      const { report } = (await next(bridge, 'report')) as unknown as { report: BridgeReport };
      simulator.send({ type: 'report' });
      const { calls: modelReports } = (await next(simulator, 'report')) as unknown as { calls: SimulatorCallReport[] };
      bridge.disconnect(); // the bridge exits on disconnect
      await new Promise((resolve) => bridge.once('exit', resolve));
      const row = analyse(report, callerReports, modelReports);
      row.heapPerCallKb =
        Math.max(0, sample.heapUsedBytes - report.heapBaselineBytes) / Math.max(1, sample.openCalls) / 1024;
      rows.push(row);
      console.error(
        `  round ${round + 1} ${impl}: ${row.cpuMsPerCallSecond.toFixed(2)} CPU-ms per call-second (user ${report.cpuUserMs.toFixed(0)} ms, system ${report.cpuSystemMs.toFixed(0)} ms); ` +
          `peak growth: RSS ${mb(report.rssPeakBytes - report.rssBaselineBytes)}, V8 heap ${mb(report.heapTotalGrowthBytes)}, outside the heap ${mb(report.externalGrowthBytes)} MB` +
          `; threads: ${Object.entries(report.threadCpuMs)
            .filter(([, ms]) => ms > 0)
            .map(([name, ms]) => `${name} ${ms.toFixed(0)}`)
            .join(', ')} ms`,
      );
    }
  }
  return byRound;
}

type Summary = ReturnType<typeof summarise>[number];

function summarise(rows: Row[]) {
  return impls.map((impl) => {
    const mine = rows.filter((r) => r.impl === impl);
    const pick = (key: keyof Row) => median(mine.map((r) => r[key] as number));
    return {
      impl,
      cpuMsPerCallSecond: pick('cpuMsPerCallSecond'),
      usPerFrame: pick('usPerFrame'),
      rssPerCallMb: pick('rssPerCallMb'),
      heapPerCallKb: pick('heapPerCallKb'),
      inputBytesLost: Math.max(...mine.map((r) => r.inputBytesLost)),
      outputBytesLost: Math.max(...mine.map((r) => r.outputBytesLost)),
      truncationErrorP50Ms: pick('truncationErrorP50Ms'),
      truncationErrorP99Ms: pick('truncationErrorP99Ms'),
      truncations: pick('truncations'),
      forwardDelayP99Ms: pick('forwardDelayP99Ms'),
      eventLoopDelayP99Ms: pick('eventLoopDelayP99Ms'),
      errors: Math.max(...mine.map((r) => r.errors)),
    };
  });
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** One implementation's CPU per call-second over another's: per round, and of the medians. */
function cpuRatios(byRound: Row[][], summary: Summary[], of: Impl = 'switchboard', to: Impl = 'floor') {
  const cpu = (rows: Row[], impl: Impl) => rows.find((r) => r.impl === impl)?.cpuMsPerCallSecond ?? Number.NaN;
  const top = summary.find((s) => s.impl === of);
  const bottom = summary.find((s) => s.impl === to);
  return {
    perRound: byRound.map((rows) => cpu(rows, of) / cpu(rows, to)),
    ofMedians: top && bottom ? top.cpuMsPerCallSecond / bottom.cpuMsPerCallSecond : Number.NaN,
  };
}
type Ratios = ReturnType<typeof cpuRatios>;
/** The ratios each size's report ends with, where both implementations ran. */
const RATIOS: Array<{ label: string; of: Impl; to: Impl }> = [
  { label: 'Switchboard / floor', of: 'switchboard', to: 'floor' },
  { label: 'Switchboard / session floor', of: 'switchboard', to: 'session-floor' },
  { label: 'session floor / floor', of: 'session-floor', to: 'floor' },
];
function allRatios(byRound: Row[][], summary: Summary[]): Array<{ label: string; ratios: Ratios }> {
  return RATIOS.filter(({ of, to }) => impls.includes(of) && impls.includes(to)).map(({ label, of, to }) => ({
    label,
    ratios: cpuRatios(byRound, summary, of, to),
  }));
}

const results: Array<{
  calls: number;
  summary: Summary[];
  rows: Row[];
  ratios: Array<{ label: string; ratios: Ratios }>;
}> = [];
for (const calls of sizes) {
  const byRound = await runSize(calls);
  const summary = summarise(byRound.flat());
  const ratios = allRatios(byRound, summary);
  results.push({ calls, summary, rows: byRound.flat(), ratios });
  if (!values.json) printTable(calls, summary, ratios);
}
simulator.disconnect();

if (values.json) {
  console.log(JSON.stringify({ seconds, speed, rounds, trace: trace.header.name, sizes: results }, null, 2));
} else {
  for (const { label } of RATIOS) {
    if (!results.some((r) => r.ratios.some((x) => x.label === label))) continue;
    console.log(`\n${label}, CPU per call-second`);
    for (const { calls, ratios } of results) {
      const { ratios: r } = ratios.find((x) => x.label === label)!;
      console.log(
        `  ${String(calls).padStart(4)} calls: ${fmt(r.ofMedians)} (medians); per round ${r.perRound.map((v) => fmt(v)).join(', ')}`,
      );
    }
  }
}

function printTable(calls: number, summary: Summary[], ratios: Array<{ label: string; ratios: Ratios }>): void {
  const header = [
    'implementation',
    'CPU-ms/call-s',
    'µs/frame',
    'RSS MB/call',
    'heap KB/call',
    'in lost B',
    'out lost B',
    'trunc err p50/p99 ms',
    'fwd delay p99 ms',
    'loop delay p99 ms',
    'errors',
  ];
  const lines = summary.map((s) => [
    IMPL_LABELS[s.impl],
    fmt(s.cpuMsPerCallSecond),
    fmt(s.usPerFrame, 1),
    fmt(s.rssPerCallMb),
    fmt(s.heapPerCallKb, 0),
    String(s.inputBytesLost),
    String(s.outputBytesLost),
    `${fmt(s.truncationErrorP50Ms, 1)} / ${fmt(s.truncationErrorP99Ms, 1)} (${s.truncations})`,
    fmt(s.forwardDelayP99Ms),
    fmt(s.eventLoopDelayP99Ms),
    String(s.errors),
  ]);
  const ours = summary.find((s) => s.impl === 'switchboard');
  const sdk = summary.find((s) => s.impl === 'sdk');
  if (ours && sdk) {
    lines.push([
      'ratio (Switchboard / SDK)',
      fmt(ours.cpuMsPerCallSecond / sdk.cpuMsPerCallSecond),
      fmt(ours.usPerFrame / sdk.usPerFrame),
      fmt(ours.rssPerCallMb / sdk.rssPerCallMb),
      fmt(ours.heapPerCallKb / sdk.heapPerCallKb),
      '',
      '',
      '',
      fmt(ours.forwardDelayP99Ms / sdk.forwardDelayP99Ms),
      '',
      '',
    ]);
  }
  const floor = summary.find((s) => s.impl === 'floor');
  if (floor && sdk) {
    lines.push([
      'ratio (floor / SDK)',
      fmt(floor.cpuMsPerCallSecond / sdk.cpuMsPerCallSecond),
      fmt(floor.usPerFrame / sdk.usPerFrame),
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(
    `\n${calls} concurrent calls × ${seconds.toFixed(1)} s ("${trace.header.name}") at ${speed}× real time, ${rounds} round(s), median`,
  );
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(row(header));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(row(l));
  for (const { label, ratios: r } of ratios) {
    console.log(`${label} CPU: ${fmt(r.ofMedians)} (medians); per round ${r.perRound.map((v) => fmt(v)).join(', ')}`);
  }
}
for (const { calls, summary } of results) {
  const ours = summary.find((s) => s.impl === 'switchboard');
  if (ours && (ours.inputBytesLost > 0 || ours.outputBytesLost > 0)) {
    console.error(
      `Switchboard lost audio at ${calls} calls: ${ours.inputBytesLost} input bytes, ${ours.outputBytesLost} output bytes`,
    );
    process.exitCode = 1;
  }
}
