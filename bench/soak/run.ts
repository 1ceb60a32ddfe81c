/**
 * Soak benchmark: N concurrent calls for M minutes through a Switchboard transport, with calls
 * turning over (each lasts a random 20–90 s, then hangs up and a new one starts), to show that
 * the bridge's memory stays flat and that no audio is lost.
 *
 * Three processes on loopback: the realtime simulator, the bridge (one `RealtimeSession` per call
 * on the carrier's transport; the only process measured) and the carrier's callers. All three load
 * the Switchboard packages as published (their built `dist`).
 *
 *   pnpm bench:soak [--calls 100] [--minutes 10] [--sample-seconds 10] [--carrier twilio] [--seed 1]
 *                   [--min-call-seconds 20] [--max-call-seconds 90] [--barge-in 0.25] [--dtmf 0.15]
 *                   [--json] [--out file.json]
 *
 * `--carrier` names a package under `@switchboard/` (`telnyx`, `plivo`, `exotel`, `vonage`, ...),
 * with `:<adapter>` for one of several dialects (`websocket:asterisk`). `SOAK_HEAP_SNAPSHOT=/tmp/soak`
 * has the bridge write heap snapshots before the first call, halfway and after the last one.
 * Exits 1 when audio was lost, a frame was refused, or memory grew (judged on runs of 5 minutes or more).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { benchPath, exited, nextMessage, startChild, type Message } from '../shared.js';
import type { BridgeConfig } from './bridge.js';
import type { CarrierConfig } from './carrier.js';
import { LOSS_COUNTERS, type BridgeReport, type CarrierTotals, type SimulatorTotals } from './common.js';
import { FLAT_HEAP_MB_PER_MIN, FLAT_RSS_MB_PER_MIN, isFlat, summarise } from './stats.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '10' },
    carrier: { type: 'string', default: 'twilio' },
    seed: { type: 'string', default: '1' },
    'min-call-seconds': { type: 'string', default: '20' },
    'max-call-seconds': { type: 'string', default: '90' },
    'barge-in': { type: 'string', default: '0.25' },
    dtmf: { type: 'string', default: '0.15' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const positive = (name: string) => {
  const n = Number(values[name as keyof typeof values]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`soak: --${name} must be a positive number`);
    process.exit(2);
  }
  return n;
};
const calls = Math.round(positive('calls'));
const minutes = positive('minutes');
const sampleSeconds = positive('sample-seconds');
const runMs = minutes * 60_000;
const carrier = values.carrier!;
const json = values.json!;
const log = (line: string) => console.error(line);

const simulator = startChild(benchPath('./soak/simulator.ts'), [], { dist: true });
const { url: simulatorUrl } = await nextMessage<Message & { url: string }>(simulator, 'ready');
const bridgeConfig: BridgeConfig = { carrier, simulatorUrl, sampleSeconds, runMs, json };
const bridge = startChild(benchPath('./soak/bridge.ts'), [JSON.stringify(bridgeConfig)], { dist: true });
const { url: bridgeUrl } = await nextMessage<Message & { url: string }>(bridge, 'ready');
log(
  `soak: ${calls} concurrent ${carrier} calls for ${minutes} min, each ${values['min-call-seconds']}–${values['max-call-seconds']} s, samples every ${sampleSeconds} s`,
);
bridge.send({ type: 'start' });
await nextMessage(bridge, 'started');

const carrierConfig: CarrierConfig = {
  bridgeUrl,
  carrier,
  calls,
  runMs,
  minCallMs: positive('min-call-seconds') * 1000,
  maxCallMs: Math.max(positive('min-call-seconds'), positive('max-call-seconds')) * 1000,
  seed: Number(values.seed),
  bargeInChance: Number(values['barge-in']),
  dtmfChance: Number(values.dtmf),
};
const callers = startChild(benchPath('./soak/carrier.ts'), [JSON.stringify(carrierConfig)], { dist: true });
const { totals: carrierTotals, cpuMs: callersCpuMs } = await nextMessage<
  Message & { totals: CarrierTotals; cpuMs: number }
>(callers, 'report');
await exited(callers);

bridge.send({ type: 'stop' });
const { report } = await nextMessage<Message & { report: BridgeReport }>(bridge, 'report');
simulator.send({ type: 'report' });
const {
  totals: simulatorTotals,
  rssBytes: simulatorRss,
  cpuMs: simulatorCpuMs,
} = await nextMessage<Message & { totals: SimulatorTotals; rssBytes: number; cpuMs: number }>(simulator, 'report');
bridge.disconnect();
simulator.disconnect();
await Promise.all([exited(bridge), exited(simulator)]);

const summary = summarise(report.samples, runMs);
const losses = Object.fromEntries(LOSS_COUNTERS.map((key) => [key, report.metrics[key] ?? 0]));
const lost = Object.values(losses).some((n) => n > 0);
const refused =
  carrierTotals.framesRejected +
  simulatorTotals.violations +
  carrierTotals.connectFailures +
  carrierTotals.closedByBridge;
/** Below this the second half is still JIT warm-up and early-heap growth: memory is not judged. */
const MIN_JUDGED_MINUTES = 5;
const judged = report.gcExposed && minutes >= MIN_JUDGED_MINUTES;
const flat = judged && isFlat(summary);
const callSeconds = carrierTotals.callSeconds;

const result = {
  calls,
  minutes,
  sampleSeconds,
  carrier: report.carrier,
  node: process.version,
  summary,
  losses,
  flat,
  bridge: report,
  callers: { ...carrierTotals, cpuMs: callersCpuMs },
  simulator: { ...simulatorTotals, cpuMs: simulatorCpuMs, rssBytes: simulatorRss },
};
if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
if (json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const m = report.metrics;
  const n = (key: string) => String(Math.round(m[key] ?? 0));
  const lines = [
    '',
    `${calls} concurrent ${report.carrier} calls × ${minutes} min on node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    `calls: ${report.callsCompleted} completed at the bridge (${carrierTotals.callsCompleted} hung up by the caller, ${carrierTotals.closedByBridge} closed by the bridge, ${carrierTotals.connectFailures} failed to connect); ${(callSeconds / 60).toFixed(0)} call-minutes`,
    `CPU: bridge ${(report.cpuMs / 1000).toFixed(0)} s (${(report.cpuMs / Math.max(1, callSeconds)).toFixed(2)} CPU-ms per call-second), callers ${(callersCpuMs / 1000).toFixed(0)} s, simulator ${(simulatorCpuMs / 1000).toFixed(0)} s`,
    `lost (transport.metrics, must be 0): ${LOSS_COUNTERS.map((key) => `${key} ${losses[key]}`).join(', ')}`,
    `discarded by barge-in (by design): interruptedBytesDiscarded ${n('interruptedBytesDiscarded')}, lateAudioDroppedBytes ${n('lateAudioDroppedBytes')}`,
    `in: the callers sent ${carrierTotals.mediaFramesSent} media frames (${carrierTotals.mediaBytesSent} B of μ-law before the peer's conversion); the transports received ${n('framesIn')} frames of all kinds, ${n('audioBytesIn')} B of audio`,
    `out: the transports sent ${n('audioBytesOut')} B of audio in ${n('framesOut')} frames; the callers received ${carrierTotals.audioBytesReceived} B (${(carrierTotals.audioMsReceived / 60_000).toFixed(1)} min of audio)`,
    `turns: ${carrierTotals.utterances} utterances, ${carrierTotals.bargeIns} spoken over a reply; transports: ${n('bargeIns')} barge-ins, ${n('truncations.count')} truncations; ${carrierTotals.clearsReceived} clears received; ${n('dtmfDigits')} DTMF digits surfaced of ${carrierTotals.dtmfDigitsSent} pressed`,
    `marks: ${carrierTotals.marksReceived} received, ${carrierTotals.acksSent} acknowledged (pending marks echoed on clear included), ${carrierTotals.marksUnacknowledged} pending when their call closed; stale acks at the transports ${n('staleAcks')}`,
    `refused: ${carrierTotals.framesRejected} bridge frames refused by the carrier's peer, ${simulatorTotals.violations} protocol violations at the simulator; session errors ${JSON.stringify(report.errors)}`,
    `calls ended by: ${JSON.stringify(report.endReasons)}; frames from the bridge after the caller's stop: ${carrierTotals.framesAfterHangUp}`,
    ...report.lossyCalls.map(
      (c) =>
        `  lost audio on call ${c.call} (${c.seconds.toFixed(0)} s, ended by ${c.endReason}, errors ${c.errors.join(' ') || 'none'}): ${JSON.stringify(c.losses)}`,
    ),
    `simulator: ${simulatorTotals.sessions} sessions, ${simulatorTotals.responses} responses, ${simulatorTotals.cancels} cancels, ${simulatorTotals.truncations} truncations, ${simulatorTotals.open} open at the end, RSS ${(simulatorRss / 1e6).toFixed(0)} MB`,
    `calls hung up while audio still played: ${carrierTotals.hungUpMidReply} (their unsent audio counts in outputUnsentBytes)`,
    ...(report.heapSnapshots.length > 0 ? [`heap snapshots: ${report.heapSnapshots.join(', ')}`] : []),
    '',
    `memory: ${flat ? 'FLAT' : judged ? 'GROWING' : report.gcExposed ? `not judged (under ${MIN_JUDGED_MINUTES} min, warm-up dominates)` : 'not judged (no --expose-gc)'} (heap-used slope ${summary.series.heapUsed.slopeMbPerMin.toFixed(3)} MB/min, limit ${FLAT_HEAP_MB_PER_MIN}; RSS ${summary.series.rss.slopeMbPerMin.toFixed(3)} MB/min, limit ${FLAT_RSS_MB_PER_MIN})`,
    `audio: ${lost || refused > 0 ? 'LOST OR REFUSED' : 'none lost, none refused'}`,
  ];
  console.log(lines.join('\n'));
}
if (lost || refused > 0 || (judged && !flat)) process.exitCode = 1;
