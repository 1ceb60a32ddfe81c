/**
 * The media socket's bound on message size, over loopback: a message over TWILIO_MAX_PAYLOAD closes
 * that socket with 1009 and ends its call, and the server goes on bridging the next call.
 */
import { RealtimeSimulator } from '@switchboard/conformance';
import { concatBytes, type CallEndEvent, type CallEvent } from '@switchboard/core';
import { TWILIO_MAX_PAYLOAD } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
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

const start = (n: number): CallEvent => ({
  type: 'call_start',
  callId: `CA${String(n).padStart(32, '0')}`,
  streamId: `MZ${String(n).padStart(32, '0')}`,
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: {},
  raw: undefined,
});

describe('maxPayload on the media socket', () => {
  it('closes the socket that sends a message over TWILIO_MAX_PAYLOAD with 1009, and bridges the next call', async () => {
    const simulator = new RealtimeSimulator();
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const calls: CallHandle[] = [];
    const app = await buildServer({
      realtimeUrl: `${simulator.url}?model=gpt-realtime`,
      log: () => {},
      onCall: (call) => calls.push(call),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const { port } = app.server.address() as { port: number };
    const url = `ws://127.0.0.1:${port}/media-stream`;

    const big = await open(url);
    const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    for (const frame of new TwilioPeerSimulator().encodeInbound(start(1))) big.send(frame);
    big.send(
      JSON.stringify({
        event: 'media',
        streamSid: 'MZ' + '0'.repeat(31) + '1',
        media: { payload: 'A'.repeat(TWILIO_MAX_PAYLOAD) },
      }),
    );
    expect(await closed).toBe(1009);
    await until(() => calls.length === 1, 'the first call');
    const ended: CallEndEvent = await calls[0]!.ended;
    expect(ended.reason).toBe('carrier_closed');

    const modelSession = simulator.nextSession();
    const next = await open(url);
    cleanups.push(() => next.terminate());
    const peer = new TwilioPeerSimulator();
    for (const frame of peer.encodeInbound(start(2))) next.send(frame);
    const model = await modelSession;
    const audio = Array.from({ length: 10 }, (_, i) => new Uint8Array(160).fill(0x70 + i));
    for (const payload of audio) for (const frame of peer.encodeInbound({ type: 'audio', payload })) next.send(frame);
    await until(() => concatBytes(model.inputAudio).byteLength >= 10 * 160, 'the second call’s audio at the model');
    expect(concatBytes(model.inputAudio)).toEqual(concatBytes(audio));
    expect(calls).toHaveLength(2);
  });
});
