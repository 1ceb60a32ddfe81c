/**
 * The audio socket's bound on message size, over loopback: a message over RAW_WEBSOCKET_MAX_PAYLOAD
 * closes that socket with 1009 and ends its call, and the server goes on bridging the next call.
 */
import { RealtimeSimulator } from '@switchboard/conformance';
import { concatBytes, type CallEvent } from '@switchboard/core';
import { RAW_WEBSOCKET_MAX_PAYLOAD } from '@switchboard/websocket';
import { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { buildServer, type CallHandle } from '../src/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

const start = (uuid: string): CallEvent => ({
  type: 'call_start',
  callId: uuid,
  streamId: uuid,
  format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
  customParameters: {},
  from: '447700900000',
  to: '447700900001',
  raw: undefined,
});

describe('maxPayload on the audio socket', () => {
  it('closes the socket that sends a message over RAW_WEBSOCKET_MAX_PAYLOAD with 1009, and bridges the next call', async () => {
    const simulator = new RealtimeSimulator();
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const calls: CallHandle[] = [];
    const app = buildServer({
      realtimeUrl: `${simulator.url}?model=gpt-realtime`,
      log: () => {},
      onCall: (call) => calls.push(call),
    });
    const port = await app.listen(0, '127.0.0.1');
    cleanups.push(() => app.close());
    const url = `ws://127.0.0.1:${port}/socket`;

    const big = await open(url);
    const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    for (const frame of new RawWebSocketPeerSimulator({ preset: 'vonage' }).encodeInbound(start('call-1')))
      big.send(frame);
    big.send(new Uint8Array(RAW_WEBSOCKET_MAX_PAYLOAD + 2));
    expect(await closed).toBe(1009);
    await until(() => calls.length === 1, 'the first call');
    expect((await calls[0]!.ended).reason).toBe('carrier_closed');

    const modelSession = simulator.nextSession();
    const next = await open(url);
    cleanups.push(() => next.terminate());
    const peer = new RawWebSocketPeerSimulator({ preset: 'vonage' });
    for (const frame of peer.encodeInbound(start('call-2'))) next.send(frame);
    const model = await modelSession;
    // 200 ms of L16 16 kHz, in 20 ms frames.
    for (let i = 0; i < 10; i++)
      for (const frame of peer.encodeInbound({ type: 'audio', payload: new Uint8Array(640).fill(i + 1) }))
        next.send(frame);
    await until(() => concatBytes(model.inputAudio).byteLength > 0, 'the second call’s audio at the model');
    expect(calls).toHaveLength(2);
  });
});
