/**
 * The example server on a simulated phone call: no API key, no network, no phone.
 *
 * A realtime simulator stands in for the OpenAI Realtime API, and a Twilio peer simulator plays a
 * recorded call (test-harness/traces/demo-call.jsonl) into the server's /media-stream, with a
 * valid signature on the webhook and on the WebSocket upgrade. It prints the call as it happens
 * and writes what the caller heard to out/demo-call.wav, and the whole conversation to
 * out/demo-call-mix.wav.
 *
 *   pnpm demo                    (from the repository root: builds the packages first)
 *   pnpm demo -- --speed 4       four times faster than real time
 *   pnpm demo -- --verbose       also print the server's own log
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import {
  CallerSimulator,
  RealtimeSimulator,
  bundledTracesDir,
  loadAgentReplies,
  loadTrace,
  traceExpect,
  traceFormat,
  type SimulatedSession,
  type SimulatorTurn,
  type Trace,
} from '@switchboard/conformance';
import { base64Decode, decodeMuLaw, encodeWav } from '@switchboard/core';
import { computeTwilioSignature } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { buildServer, type CallHandle } from './server.js';

/** A made-up auth token: the demo signs its own requests with it, as Twilio would with yours. */
const DEMO_AUTH_TOKEN = 'demo-twilio-auth-token';
const DEMO_API_KEY = 'sk-offline-demo';
const TRACE_NAME = 'demo-call';
/** What the caller says in demo-call.jsonl, in order (the texts of test-harness/scripts/make-corpus.mjs). */
const CALLER_LINES = [
  'Hi, I would like to know the weather in Paris.',
  'The weather in Paris, please.',
  'So, what is it like there?',
  'Great. Now I want to enter my account number.',
  'Thanks, goodbye.',
];
const SAMPLE_RATE = 8000;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');

type Args = { speed: number; verbose: boolean };

function parseArgs(argv: string[]): Args {
  const args: Args = { speed: 1, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    if (arg === '--verbose' || arg === '-v') args.verbose = true;
    else if (arg === '--speed' || arg.startsWith('--speed=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const speed = Number(value);
      if (!Number.isFinite(speed) || speed <= 0 || speed > 20)
        fail(`--speed must be a number between 0 and 20, got ${String(value)}`);
      args.speed = speed;
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: demo [--speed N] [--verbose]');
      process.exit(0);
    } else fail(`unknown argument ${arg} (usage: demo [--speed N] [--verbose])`);
  }
  return args;
}

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

/** mm:ss.s */
function clock(ms: number): string {
  const tenths = Math.max(0, Math.round(ms / 100));
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths % 600) / 10;
  return `${String(minutes).padStart(2, '0')}:${seconds.toFixed(1).padStart(4, '0')}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * The simulated model's lines: its first recorded reply, a weather tool call, then the replies
 * that fit the example's agent. The example's weather tool returns a background result (as in
 * the SDK guide), so the model gives the weather on the caller's next turn, not right after the
 * tool; the simulator's default script assumes a tool that starts a response at once.
 */
function demoScript(): SimulatorTurn[] {
  const [greeting, , sunny, lookUp, goodbye] = loadAgentReplies();
  if (!greeting || !sunny || !lookUp || !goodbye) throw new Error('the recorded agent replies are missing');
  return [
    greeting,
    { kind: 'function_call', name: 'weather', arguments: { location: 'Paris' } },
    sunny,
    lookUp,
    goodbye,
  ];
}

/** The caller's side as one track: every media payload of the trace at its time. */
function callerTrack(trace: Trace, totalMs: number): Int16Array {
  const out = new Int16Array(Math.ceil((totalMs * SAMPLE_RATE) / 1000));
  for (const { t, frame } of trace.frames) {
    if (frame.event !== 'media') continue;
    const payload = (frame.media as { payload?: unknown } | undefined)?.payload;
    if (typeof payload !== 'string') continue;
    const pcm = decodeMuLaw(base64Decode(payload));
    const at = Math.round((t * SAMPLE_RATE) / 1000);
    out.set(pcm.subarray(0, Math.max(0, Math.min(pcm.length, out.length - at))), at);
  }
  return out;
}

function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) {
    const v = (a[i] ?? 0) + (b[i] ?? 0);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const { speed } = args;
  const trace = await loadTrace(join(bundledTracesDir(), `${TRACE_NAME}.jsonl`));
  const totalMs = traceExpect(trace).durationMs;
  const shownFrom = process.env.INIT_CWD ?? process.cwd();

  // The call clock: stream ms since the caller's first frame, `speed` times real time.
  let t0 = performance.now();
  const now = () => (performance.now() - t0) * speed;
  const print = (line: string) => console.log(`[${clock(now())}] ${line}`);

  console.log(
    `Switchboard demo: a simulated Twilio call to the example server (speed ${speed}x, about ${Math.round(totalMs / 1000 / speed)} s)`,
  );
  console.log('');

  const simulator = new RealtimeSimulator({ speed, script: demoScript() });
  await simulator.start({ host: '127.0.0.1', port: 0 });
  console.log(`realtime simulator   ${simulator.url}`);

  let call: CallHandle | undefined;
  let callEndedAt: number | undefined;
  let callStartedAt: number | undefined;
  const serverLog: string[] = [];
  const app = await buildServer({
    realtimeUrl: `${simulator.url}?model=gpt-realtime`,
    openaiApiKey: DEMO_API_KEY,
    twilioAuthToken: DEMO_AUTH_TOKEN,
    now,
    log: (line) => {
      serverLog.push(line);
      if (args.verbose) print(`server │ ${line}`);
    },
    onCall: (handle) => {
      call = handle;
      watchCall(handle);
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  const base = `http://127.0.0.1:${address.port}`;
  console.log(`example server       ${base}`);
  console.log('');

  const cleanup = async (caller?: CallerSimulator) => {
    caller?.dispose();
    await app.close().catch(() => undefined);
    await simulator.stop().catch(() => undefined);
  };

  // 1. Twilio calls the number's webhook, signed with the account's auth token.
  const webhookUrl = `${base}/incoming-call`;
  const form = {
    AccountSid: 'AC' + '0'.repeat(32),
    CallSid: traceExpect(trace).callSid,
    CallStatus: 'ringing',
    Direction: 'inbound',
    From: traceExpect(trace).customParameters.caller ?? '+15551230000',
    To: '+15557654321',
  };
  const forged = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' },
    body: new URLSearchParams(form),
  });
  console.log(`POST /incoming-call with a forged X-Twilio-Signature  → ${forged.status} ${forged.statusText}`);
  const webhook = await fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': await computeTwilioSignature(DEMO_AUTH_TOKEN, webhookUrl, form),
    },
    body: new URLSearchParams(form),
  });
  const twiml = await webhook.text();
  console.log(
    `POST /incoming-call signed by "Twilio"                → ${webhook.status} ${webhook.statusText}, TwiML:`,
  );
  console.log('  ' + twiml.replace(/></g, '>\n<').split('\n').join('\n  '));
  const streamUrl = /<Stream url="([^"]+)"/.exec(twiml)?.[1];
  if (webhook.status !== 200 || !streamUrl) {
    await cleanup();
    console.error('demo: the webhook did not return a <Stream> TwiML');
    return 1;
  }
  console.log('');

  // 2. Twilio opens the Media Stream named in the TwiML, signing the upgrade as well.
  let model: SimulatedSession | undefined;
  let streamingItem: string | undefined;
  let modelClosedAt: number | undefined;
  simulator.on('session', (session) => {
    if (model) return;
    model = session;
    print(`model      realtime session ${session.id} opened (${session.connection.model ?? 'no model'})`);
    session.on('server_event', (event: { type?: string; item_id?: string; audio_start_ms?: number }) => {
      if (event.type === 'response.output_audio.delta') streamingItem = event.item_id;
      else if (event.type === 'input_audio_buffer.speech_started') {
        const line = callerLine(event.audio_start_ms ?? now());
        print(`caller     speaking${line ? `: "${line}"` : ''}`);
      } else if (event.type === 'input_audio_buffer.speech_stopped')
        print('caller     stopped speaking (the model ends the turn)');
    });
    void session.closed.then(() => {
      modelClosedAt = now();
    });
  });

  const heardItems = new Set<string>();
  // When the server sent each clear (its transport's clock, which is the call clock here), and
  // which of the frames the caller got carried it: what the caller had heard is read at the moment
  // the server decided, as the conformance harness does. Caller and server share this process, so
  // the clear reaches the caller only once the server's own work after the barge-in is done; on a
  // real line it would be on its way meanwhile.
  const clearsSentAt: number[] = [];
  const clearFrames: number[] = [];
  const caller = new CallerSimulator({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: true,
    format: traceFormat(trace),
    speed,
    now,
    currentItem: () => streamingItem,
    onCommand: (command, _at, frame) => {
      if (command.type === 'clear') clearFrames.push(frame.index);
      if (command.type !== 'audio' || !streamingItem || heardItems.has(streamingItem)) return;
      heardItems.add(streamingItem);
      const transcript = model?.responses.find((r) => r.itemId === streamingItem)?.transcript;
      print(`agent      ${transcript ? `"${transcript}"` : '(speaking)'}`);
    },
  });

  function callerLine(audioStartMs: number): string | undefined {
    const utterances = traceExpect(trace).utterances;
    if (utterances.length !== CALLER_LINES.length) return undefined;
    let best = -1;
    for (const [i, u] of utterances.entries()) {
      if (
        Math.abs(u.startMs - audioStartMs) < 1000 &&
        (best < 0 || Math.abs(u.startMs - audioStartMs) < Math.abs(utterances[best]!.startMs - audioStartMs))
      )
        best = i;
    }
    return best >= 0 ? CALLER_LINES[best] : undefined;
  }

  function watchCall(handle: CallHandle): void {
    const { transport, session } = handle;
    transport.on('call_start', (event) => {
      callStartedAt = now();
      const params = Object.entries(event.customParameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      const encoding = event.format.encoding === 'pcmu' ? 'μ-law' : event.format.encoding === 'pcma' ? 'A-law' : 'L16';
      print(`call       started: call ${event.callId ?? '?'}, stream ${event.streamId}`);
      print(`call       parameters ${params || '(none)'}; audio ${encoding} ${event.format.sampleRate} Hz mono`);
    });
    transport.on('dtmf', (event) => print(`caller     pressed ${event.digit}`));
    transport.observeMedia({ cleared: (at) => clearsSentAt.push(at) });
    transport.on('call_end', (event) => {
      callEndedAt = now();
      print(`call       ended (${event.reason})`);
    });
    let seen = 0;
    transport.on('audio_interrupted', () => {
      queueMicrotask(() => {
        const fresh = transport.metrics.truncations.slice(seen);
        seen = transport.metrics.truncations.length;
        const cut = fresh
          .map((t) => `reply truncated at ${t.audioEndMs} ms (of ${Math.round(t.sentMs)} ms sent)`)
          .join('; ');
        print(`barge-in   the caller talks over the agent: Twilio's buffer cleared${cut ? `, ${cut}` : ''}`);
      });
    });
    session.on('agent_tool_start', (_context, _agent, tool, details) => {
      const args = 'arguments' in details.toolCall ? String(details.toolCall.arguments) : '';
      print(`tool       ${tool.name}(${args})`);
    });
    session.on('agent_tool_end', (_context, _agent, tool, result) =>
      print(`tool       ${tool.name} → "${result}" (a background result: the model uses it on its next turn)`),
    );
  }

  const streamSignature = await computeTwilioSignature(DEMO_AUTH_TOKEN, streamUrl);
  try {
    await caller.connect(streamUrl, { 'x-twilio-signature': streamSignature });
  } catch (error) {
    await cleanup(caller);
    console.error(`demo: the Media Stream WebSocket was refused: ${(error as Error).message}`);
    return 1;
  }
  console.log(
    `Media Stream ${streamUrl} (signed upgrade accepted); playing ${TRACE_NAME}.jsonl, ${seconds(totalMs)} of caller audio:`,
  );
  console.log('');

  // 3. The call.
  t0 = performance.now();
  await caller.play(trace, {
    onProgress: (line) => {
      const percent = /(\d+)%$/.exec(line)?.[1];
      if (percent && percent !== '0' && percent !== '100') print(`·········· ${percent}% of the call`);
    },
  });
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline && (callEndedAt === undefined || (model && modelClosedAt === undefined))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  caller.hangUp();
  caller.rejudgeClears((index) => {
    const k = clearFrames.indexOf(index);
    return k === -1 ? undefined : clearsSentAt[k];
  });
  if (model && modelClosedAt === undefined) print('model      the realtime session is still open');
  else if (modelClosedAt !== undefined) print('model      realtime session closed');

  // 4. What happened.
  const metrics = call?.transport.metrics;
  console.log('');
  if (metrics) {
    const ms = (bytes: number) => `${(bytes / 8).toFixed(0)} ms`; // μ-law 8 kHz: 8 bytes a millisecond
    const latencies = metrics.responseLatenciesMs.map((v) => `${Math.round(v)} ms`).join(', ') || 'none';
    console.log('Call metrics (transport.metrics)');
    console.log(`  frames in / out             ${metrics.framesIn} / ${metrics.framesOut}`);
    console.log(
      `  audio bytes in / out        ${metrics.audioBytesIn} (${ms(metrics.audioBytesIn)}) / ${metrics.audioBytesOut} (${ms(metrics.audioBytesOut)})`,
    );
    console.log(`  sent to the model           ${metrics.modelAudioBytesSent} bytes (μ-law passthrough)`);
    console.log(
      `  early media buffered        ${metrics.earlyMediaBytes} bytes (${ms(metrics.earlyMediaBytes)}), dropped ${metrics.earlyMediaDroppedBytes}`,
    );
    console.log(`  gaps padded                 ${metrics.gapsPaddedMs} ms`);
    console.log(`  DTMF digits                 ${metrics.dtmfDigits}`);
    console.log(`  barge-ins                   ${metrics.bargeIns}`);
    console.log(
      `  truncations                 ${metrics.truncations.map((t) => `${t.audioEndMs} ms of ${Math.round(t.sentMs)} ms`).join(', ') || 'none'}`,
    );
    console.log(`  response latency            ${latencies} (speech_stopped → first audio to Twilio, call clock)`);
    console.log(`  malformed frames            ${metrics.malformedFrames}`);
    console.log(`  stale acks                  ${metrics.staleAcks} (marks Twilio echoes back after a clear, ignored)`);
  }
  const log = caller.log;
  console.log(
    `Caller side: ${log.chunks.length} audio frames, ${log.marksSent} marks (${log.acksSent} acked), ${log.clears.length} clear(s), ${log.rejected.length} frame(s) rejected`,
  );
  for (const clear of log.clears) {
    const heardMs = Object.values(clear.playedByItem).at(-1);
    if (heardMs === undefined) continue;
    const transit = clear.at - clear.sentAt;
    console.log(
      `             when the server sent the clear the caller had heard ${Math.round(heardMs)} ms of the interrupted reply (the clear reached the caller ${Math.round(transit)} ms later); ${Math.round(clear.discardedMs)} ms were discarded`,
    );
  }
  if (model) {
    const done = model.responses.filter((r) => r.status === 'completed').length;
    const cancelled = model.responses.filter((r) => r.status === 'cancelled').length;
    console.log(
      `Model side:  ${model.responses.length} responses (${done} completed, ${cancelled} cancelled), ${model.functionCallOutputs.length} tool output(s), ${model.truncations.filter((t) => t.accepted).length} truncation(s) accepted, ${model.violations.length} protocol violation(s)`,
    );
  }

  // 5. The recordings.
  const heard = caller.heardAudio(totalMs);
  const agentTrack = heard.samples;
  const both = mix(callerTrack(trace, totalMs), agentTrack);
  await mkdir(OUT_DIR, { recursive: true });
  const heardPath = join(OUT_DIR, 'demo-call.wav');
  const mixPath = join(OUT_DIR, 'demo-call-mix.wav');
  await writeFile(heardPath, encodeWav(agentTrack, heard.sampleRate));
  await writeFile(mixPath, encodeWav(both, SAMPLE_RATE));
  const callMs = callStartedAt !== undefined && callEndedAt !== undefined ? callEndedAt - callStartedAt : undefined;
  console.log('');
  console.log(
    `Wrote ${relative(shownFrom, heardPath)}      what the caller heard (the agent), ${seconds((agentTrack.length * 1000) / heard.sampleRate)}, 8 kHz 16-bit mono`,
  );
  console.log(
    `Wrote ${relative(shownFrom, mixPath)}  the whole conversation (caller + agent), ${seconds((both.length * 1000) / SAMPLE_RATE)}`,
  );
  console.log(
    `Call duration: ${callMs !== undefined ? seconds(callMs) : 'unknown'} from call_start to call_end; the trace lasts ${seconds(totalMs)}.`,
  );

  await cleanup(caller);

  if (!call) {
    console.error('demo: FAILED: the server never took the call');
    return 1;
  }
  if (callEndedAt === undefined) {
    console.error('demo: FAILED: the call never ended (no call_end from the transport)');
    return 1;
  }
  if (args.verbose === false && serverLog.length > 0)
    console.log(`(${serverLog.length} server log lines; run with --verbose to see them)`);
  console.log('demo: call completed');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
