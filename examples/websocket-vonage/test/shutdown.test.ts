/**
 * `pnpm start` drains on SIGTERM: the server, run as a child process exactly as `pnpm start` runs
 * it, refuses new calls (503), lets live calls end on their own until the deadline, hangs up the
 * rest with `call_end` reason `shutdown` and a normal close, and exits 0 by itself.
 */
import { fileURLToPath } from 'node:url';
import { RealtimeSimulator } from '@switchboard/conformance';
import type { AudioFormat } from '@switchboard/core';
import { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerCall, ServerProcess, until, upgradeStatus } from '../../twilio-fastify/test/helpers.js';

const exampleDir = fileURLToPath(new URL('..', import.meta.url));
/** Short, so the test is quick, and long enough that the hang-up below lands inside it on a loaded machine. */
const DEADLINE_MS = 8000;
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('pnpm start on SIGTERM', () => {
  it('refuses new calls, hangs up the calls still live at the deadline with shutdown, and exits 0', async () => {
    const simulator = new RealtimeSimulator();
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const server = new ServerProcess(exampleDir, {
      HOST: '127.0.0.1',
      PORT: '0',
      OPENAI_REALTIME_URL: `${simulator.url}?model=gpt-realtime`,
      SHUTDOWN_DEADLINE_MS: String(DEADLINE_MS),
    });
    cleanups.push(() => server.dispose());
    const port = await server.port();
    const base = `http://127.0.0.1:${port}`;
    const socketUrl = `ws://127.0.0.1:${port}/socket`;

    // Three live calls, each with its model session open.
    const callers: PeerCall[] = [];
    for (let n = 1; n <= 3; n++) {
      const caller = await PeerCall.open(
        socketUrl,
        new RawWebSocketPeerSimulator({ preset: 'vonage', format: L16_16K }),
      );
      cleanups.push(() => caller.dispose());
      caller.start({
        type: 'call_start',
        callId: `uuid-${n}`,
        streamId: `uuid-${n}`,
        format: L16_16K,
        customParameters: {},
        raw: {},
      });
      callers.push(caller);
      await until(() => server.has(`[call ${n}] connected to the realtime model`), `call ${n} to connect`);
    }
    const [leaving, stayingA, stayingB] = callers as [PeerCall, PeerCall, PeerCall];
    expect((await fetch(`${base}/`)).status).toBe(200);

    server.signal('SIGTERM');
    await until(() => server.has('SIGTERM: shutting down'), 'the drain to start');
    expect(server.has(`waiting up to ${DEADLINE_MS} ms for 3 live call(s)`)).toBe(true);

    // One caller hangs up during the drain: that call ends on its own.
    leaving.hangUp();
    // New calls are refused: the answer webhook, the socket upgrade, and the health check (a load
    // balancer stops sending calls here). Status updates about live calls are still taken.
    expect((await fetch(`${base}/webhooks/answer?uuid=uuid-4`)).status).toBe(503);
    expect(await upgradeStatus(socketUrl)).toBe(503);
    expect((await fetch(`${base}/`)).status).toBe(503);
    expect(
      (
        await fetch(`${base}/webhooks/event`, {
          method: 'POST',
          body: JSON.stringify({ uuid: 'uuid-2', status: 'answered' }),
        })
      ).status,
    ).toBe(204);

    // The calls still live at the deadline are hung up normally, and the process exits by itself.
    const exit = await Promise.race([
      server.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no exit:\n${server.lines.join('\n')}`)), DEADLINE_MS + 60_000),
      ),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    for (const caller of [stayingA, stayingB])
      expect(await caller.closed).toEqual({ code: 1000, reason: 'call ended' });

    expect(server.has('[call 1] call ended (carrier_closed)')).toBe(true);
    expect(server.has('[call 2] call ended (shutdown)')).toBe(true);
    expect(server.has('[call 3] call ended (shutdown)')).toBe(true);
    expect(server.has('drained: 1 call(s) ended on their own, 2 hung up at the deadline')).toBe(true);
    expect(server.has('refused GET /webhooks/answer: the server is shutting down')).toBe(true);
    expect(server.has('refused a /socket upgrade: the server is shutting down')).toBe(true);
    await until(
      () => simulator.sessions.length === 3 && simulator.openSessions.length === 0,
      'the model sessions to close',
    );
  });
});
