/**
 * What the simulated caller's tests share: a loopback server standing in for the bridge, the
 * caller dialled into it (both closed after each test), and a trace built from its frames.
 */
import { afterEach } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { CallerSimulator, type CallerSimulatorOptions } from '../src/caller.js';
import type { Trace } from '../src/trace.js';

export type CallerRig = {
  /**
   * Starts a server on a free loopback port, creates a caller with `options` and connects it to
   * the server; resolves with the caller and the server's end of its socket (the bridge's side).
   */
  dial(options: CallerSimulatorOptions): Promise<{ caller: CallerSimulator; bridge: WebSocket }>;
};

/** A rig for the tests of this file: what a test dialled is disposed of after it. */
export function useCallerRig(): CallerRig {
  let server: WebSocketServer | undefined;
  let caller: CallerSimulator | undefined;
  afterEach(async () => {
    caller?.dispose();
    caller = undefined;
    const closing = server;
    server = undefined;
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  });
  return {
    async dial(options) {
      const listening = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      server = listening;
      await new Promise<void>((resolve) => listening.once('listening', () => resolve()));
      const connected = new Promise<WebSocket>((resolve) => listening.once('connection', resolve));
      const dialled = new CallerSimulator(options);
      caller = dialled;
      await dialled.connect(`ws://127.0.0.1:${(listening.address() as { port: number }).port}/media`);
      return { caller: dialled, bridge: await connected };
    },
  };
}

/**
 * A trace of `frames` for one call: `callSid`, the stream ids its starts carry, the hazards it
 * declares; it lasts until its last frame, with no DTMF, parameters, counted audio or utterances.
 */
export function callerTrace(
  name: string,
  frames: Trace['frames'],
  facts: { callSid: string; streamSids: string[]; hazards?: string[] },
): Trace {
  return {
    header: {
      name,
      description: name,
      source: 'test',
      hazards: facts.hazards ?? [],
      expect: {
        dtmf: [],
        customParameters: {},
        callSid: facts.callSid,
        streamSids: facts.streamSids,
        inboundMediaBytes: 0,
        utterances: [],
        durationMs: frames.at(-1)?.t ?? 0,
      },
    },
    frames,
  };
}
