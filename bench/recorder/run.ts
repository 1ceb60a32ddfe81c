/**
 * What the call audio recorder costs a bridge: CPU per second of call and memory held, for a long
 * synthetic call in the formats carriers send (μ-law 8 kHz, L16 16 kHz, and μ-law resampled to
 * 16 kHz). The recorder is driven through its media observers, as the transport drives it, with a
 * caller frame every 20 ms and an agent reply (sent at once, as carriers without pacing get it)
 * every ten seconds, every other one cut short by a barge-in. It prints figures; it asserts nothing.
 *
 *   cd bench && node --import tsx recorder/run.ts [--minutes 60]   (or `pnpm bench:recorder` at the root)
 */
import {
  CallAudioRecorder,
  encodeMuLaw,
  type AudioFormat,
  type MediaObserver,
  type TelephonyRealtimeTransport,
} from '@switchboard/core';

const minutes = Number(process.argv[process.argv.indexOf('--minutes') + 1] ?? 60) || 60;
const FRAME_MS = 20;
const REPLY_EVERY_MS = 10_000;
const REPLY_MS = 4000;

/** Just what the recorder uses of a transport: its media observers. */
function fakeTransport(): { transport: TelephonyRealtimeTransport; observer: () => MediaObserver } {
  let observer: MediaObserver | undefined;
  const transport = {
    observeMedia: (o: MediaObserver) => ((observer = o), () => (observer = undefined)),
    on: () => transport,
    off: () => transport,
    endReason: undefined,
    carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  };
  return { transport: transport as unknown as TelephonyRealtimeTransport, observer: () => observer! };
}

/** `ms` of a tone in `format`, as a carrier frame holds it. */
function audio(format: AudioFormat, ms: number): Uint8Array {
  const n = (format.sampleRate * ms) / 1000;
  const samples = Int16Array.from({ length: n }, (_, i) => Math.round(6000 * Math.sin(i / 3)));
  return format.encoding === 'pcmu' ? encodeMuLaw(samples) : new Uint8Array(samples.buffer);
}

function run(label: string, format: AudioFormat, sampleRate?: number, callMinutes = minutes): void {
  const { transport, observer } = fakeTransport();
  let bytes = 0;
  const recorder = new CallAudioRecorder(transport, {
    sink: { write: (chunk: Uint8Array) => void (bytes += chunk.byteLength) },
    ...(sampleRate ? { sampleRate } : {}),
  });
  const frame = audio(format, FRAME_MS);
  const reply = audio(format, REPLY_MS);
  const o = observer();
  const callMs = callMinutes * 60_000;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let t = FRAME_MS; t <= callMs; t += FRAME_MS) {
    o.callerAudio!(frame, format, t);
    if (t % REPLY_EVERY_MS === 0) o.agentAudio!(reply, format, t);
    // Every other reply: the caller speaks over it after a second.
    if (t % (2 * REPLY_EVERY_MS) === 1000) o.cleared!(t);
  }
  o.ended!('carrier_stop', callMs);
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const stats = recorder.stats;
  if (callMinutes !== minutes) return;
  console.log(
    `| ${label} | ${recorder.sampleRate} | ${minutes} | ${((cpuMs / callMs) * 1000).toFixed(3)} | ${(
      ((wallMs * 1000) / callMs) *
      FRAME_MS
    ).toFixed(
      2,
    )} | ${stats.maxHeldMs.toFixed(0)} | ${(((stats.maxHeldMs / 1000) * recorder.sampleRate! * 4) / 1024).toFixed(0)} | ${(bytes / 1024 / 1024).toFixed(1)} |`,
  );
}

console.log(`Node ${process.version}, ${minutes} min of call per row`);
console.log(
  '| carrier audio | WAV rate | minutes | CPU-ms / call-s | µs / 20 ms frame | longest window held, ms | ring KB at that | WAV MB |',
);
console.log('|---|---|---|---|---|---|---|---|');
// A few minutes of each first, unprinted, so that every row runs compiled code.
run('', { encoding: 'pcmu', sampleRate: 8000, channels: 1 }, undefined, 3);
run('', { encoding: 'l16', sampleRate: 16000, channels: 1 }, undefined, 3);
run('', { encoding: 'pcmu', sampleRate: 8000, channels: 1 }, 16000, 3);
run('μ-law 8 kHz', { encoding: 'pcmu', sampleRate: 8000, channels: 1 });
run('L16 16 kHz', { encoding: 'l16', sampleRate: 16000, channels: 1 });
run('μ-law 8 kHz → 16 kHz', { encoding: 'pcmu', sampleRate: 8000, channels: 1 }, 16000);
