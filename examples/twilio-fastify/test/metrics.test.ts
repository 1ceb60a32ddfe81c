/**
 * `/metrics` (the `metrics` option, METRICS=1 under `pnpm start`): one simulated Twilio call
 * through the server against the realtime simulator, then a Prometheus scrape that shows the
 * call counted, its end reason, and its quality figures as recorded at its end.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CallerSimulator, RealtimeSimulator, bundledTracesDir, loadTrace, traceFormat } from '@switchboard/conformance';
import type { CallEndEvent } from '@switchboard/core';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer, type CallHandle } from '../src/server.js';

const SPEED = 5;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The value of the sample `name{labels}` in a Prometheus scrape (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('is not served unless asked for', async () => {
    const app = await buildServer({ realtimeUrl: 'ws://127.0.0.1:9/v1/realtime', log: () => {} });
    cleanups.push(() => app.close());
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
  });

  it('shows a finished call: counted, its end reason, lost frames, jitter, response latency and MOS', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'two-turn.jsonl'));
    const simulator = new RealtimeSimulator({ speed: SPEED });
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const t0 = performance.now();
    const now = () => (performance.now() - t0) * SPEED;
    let call: CallHandle | undefined;
    const app = await buildServer({
      realtimeUrl: `${simulator.url}?model=gpt-realtime`,
      metrics: true,
      now,
      log: () => {},
      onCall: (handle) => (call = handle),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const { port } = app.server.address() as { port: number };

    const caller = new CallerSimulator({
      peer: new TwilioPeerSimulator(),
      ackOnClear: 'echo-pending',
      twilioFrames: true,
      format: traceFormat(trace),
      speed: SPEED,
      now,
    });
    cleanups.push(() => caller.dispose());
    await caller.connect(`ws://127.0.0.1:${port}/media-stream`);
    await caller.play(trace);
    caller.hangUp();
    if (!call) throw new Error('the server took no call');
    const ended: CallEndEvent = await call.ended;
    const quality = ended.quality!;
    expect(quality.inbound.frames).toBeGreaterThan(0);

    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    const carrier = { switchboard_carrier: 'twilio' };
    const ending = { ...carrier, switchboard_end_reason: 'stop' };
    expect(sample(text, 'switchboard_calls_total', carrier)).toBe(1);
    expect(sample(text, 'switchboard_calls_active', carrier)).toBe(0);
    expect(sample(text, 'switchboard_call_ends_total', ending)).toBe(1);
    expect(sample(text, 'switchboard_call_mos_count', ending)).toBe(1);
    expect(sample(text, 'switchboard_call_mos_sum', ending)).toBeCloseTo(quality.mos.score, 6);
    expect(sample(text, 'switchboard_call_jitter_count', ending)).toBe(1);
    expect(sample(text, 'switchboard_call_forwarding_delay_count', ending)).toBe(1);
    expect(sample(text, 'switchboard_call_response_latency_count', ending)).toBe(
      call.transport.metrics.responseLatenciesMs.length,
    );
    expect(call.transport.metrics.responseLatenciesMs.length).toBeGreaterThan(0);
    // The trace's stream is whole: nothing lost, nothing reordered, so those counters never started.
    expect(sample(text, 'switchboard_call_frames_lost_total', ending)).toBeUndefined();
    expect(quality.inbound.lostFrames).toBe(0);
  });
});
