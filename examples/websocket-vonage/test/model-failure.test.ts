/**
 * A model connection that fails ends that one call, not the server: Vonage's socket is closed
 * normally with `call_end` reason `model_connect_failed`, no rejection goes unhandled (the Agents
 * SDK exits the process on one), and the next call on the same server works.
 */
import { join } from 'node:path';
import { CallerSimulator, RealtimeSimulator, bundledTracesDir, loadTrace } from '@switchboard/conformance';
import { scaledClock, type AudioFormat } from '@switchboard/core';
import { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelGate, PeerCall, closedPort, until } from '../../twilio-fastify/test/helpers.js';
import { buildServer, type CallHandle } from '../src/server.js';

const SPEED = 5;
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
const PCMU: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

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

      const clock = scaledClock(SPEED);
      const calls: CallHandle[] = [];
      const lines: string[] = [];
      const app = buildServer({
        realtimeUrl: `ws://127.0.0.1:${modelPort}/v1/realtime?model=gpt-realtime`,
        clock,
        log: (line) => lines.push(line),
        onCall: (call) => calls.push(call),
      });
      const port = await app.listen(0, '127.0.0.1');
      cleanups.push(() => app.close());
      const url = `ws://127.0.0.1:${port}/socket`;

      // The first call: Vonage connects and streams; the model connection fails.
      const first = await PeerCall.open(url, new RawWebSocketPeerSimulator({ preset: 'vonage', format: L16_16K }));
      cleanups.push(() => first.dispose());
      first.start({
        type: 'call_start',
        callId: 'uuid-1',
        streamId: 'uuid-1',
        format: L16_16K,
        customParameters: {},
        raw: {},
      });
      expect((await first.closed).code).toBe(1011); // the bridge failed: not a normal close
      expect(calls).toHaveLength(1);
      expect(await calls[0]!.ended).toMatchObject({ reason: 'model_connect_failed' });
      expect(lines.some((line) => line.startsWith('[call 1] could not connect to the realtime model'))).toBe(true);
      if (refusal === 'an endpoint that drops the connection') expect(gate.refused).toBe(1);
      else await gate.start(modelPort); // The model is back.

      // The same server takes the next call, which reaches the model and hears the agent.
      const trace = await loadTrace(join(bundledTracesDir(), 'two-turn.jsonl'));
      const modelSession = simulator.nextSession();
      const caller = new CallerSimulator({
        peer: new RawWebSocketPeerSimulator({ preset: 'vonage', format: L16_16K, inputFormat: PCMU }),
        ackOnClear: 'confirm',
        twilioFrames: false,
        format: L16_16K,
        speed: SPEED,
        now: () => clock.now(),
      });
      cleanups.push(() => caller.dispose());
      await caller.connect(url);
      await caller.play(trace);
      caller.hangUp();
      await until(() => calls.length === 2, 'the second call');
      expect(await calls[1]!.ended).toMatchObject({ reason: 'carrier_closed' });
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
