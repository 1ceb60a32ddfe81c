/**
 * A model connection that fails ends that one call, not the server: the stream is hung up with a
 * normal close and `call_end` reason `model_connect_failed`, no rejection goes unhandled (the
 * Agents SDK exits the process on one), and the next call on the same server works.
 */
import { join } from 'node:path';
import { CallerSimulator, RealtimeSimulator, bundledTracesDir, loadTrace, traceFormat } from '@switchboard/conformance';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer, type CallHandle } from '../src/server.js';
import { ModelGate, PeerCall, closedPort, until } from './helpers.js';

const SPEED = 5;
const CALL_SID = 'CA' + 'a'.repeat(32);
const STREAM_SID = 'MZ' + 'b'.repeat(32);

const cleanups: Array<() => Promise<unknown> | unknown> = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeEach(() => {
  rejections.length = 0;
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a failed model connection', () => {
  for (const refusal of ['a port that refuses', 'an endpoint that drops the connection'] as const) {
    it(`to ${refusal} hangs up that call only; the server takes the next one`, async () => {
      const simulator = new RealtimeSimulator({ speed: SPEED });
      await simulator.start();
      cleanups.push(() => simulator.stop());
      // The model endpoint: a gate in front of the simulator. To refuse, it is not listening yet
      // for the first call; to drop, it closes the first connection it accepts.
      const gate = new ModelGate(simulator.port);
      const modelPort = await closedPort();
      if (refusal === 'an endpoint that drops the connection') {
        await gate.start(modelPort);
        gate.refuseNext(1);
      }
      cleanups.push(() => gate.stop().catch(() => undefined));

      const calls: CallHandle[] = [];
      const lines: string[] = [];
      const app = await buildServer({
        realtimeUrl: `ws://127.0.0.1:${modelPort}/v1/realtime?model=gpt-realtime`,
        openaiApiKey: 'sk-test-key',
        log: (line) => lines.push(line),
        onCall: (call) => calls.push(call),
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => app.close());
      const { port } = app.server.address() as { port: number };
      const url = `ws://127.0.0.1:${port}/media-stream`;

      // The first call: Twilio connects and starts streaming; the model connection fails.
      const first = await PeerCall.open(url, new TwilioPeerSimulator());
      cleanups.push(() => first.dispose());
      first.start({
        type: 'call_start',
        callId: CALL_SID,
        streamId: STREAM_SID,
        format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
        customParameters: {},
        raw: {},
      });
      const closed = await first.closed;
      expect(closed.code).toBe(1011); // the bridge failed: not a normal close
      expect(calls).toHaveLength(1);
      expect(await calls[0]!.ended).toMatchObject({ reason: 'model_connect_failed' });
      expect(lines.some((line) => line.startsWith('[call 1] could not connect to the realtime model'))).toBe(true);
      if (refusal === 'an endpoint that drops the connection') expect(gate.refused).toBe(1);
      else await gate.start(modelPort); // The model is back.

      // The same server takes the next call, which reaches the model and hears the agent.
      const trace = await loadTrace(join(bundledTracesDir(), 'two-turn.jsonl'));
      const modelSession = simulator.nextSession();
      const caller = new CallerSimulator({
        peer: new TwilioPeerSimulator(),
        ackOnClear: 'echo-pending',
        twilioFrames: true,
        format: traceFormat(trace),
        speed: SPEED,
      });
      cleanups.push(() => caller.dispose());
      await caller.connect(url);
      await caller.play(trace);
      caller.hangUp();
      await until(() => calls.length === 2, 'the second call');
      expect(await calls[1]!.ended).toMatchObject({ reason: 'stop' });
      const model = await modelSession;
      await model.closed;
      expect(model.inputAudio.length).toBeGreaterThan(0);
      expect(model.responses.length).toBeGreaterThan(0);
      expect(caller.log.chunks.length).toBeGreaterThan(0);
      expect(lines).toContain('[call 2] connected to the realtime model');

      // Nothing went unhandled: under the Agents SDK, that would have ended the process.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(rejections).toEqual([]);
    });
  }
});
