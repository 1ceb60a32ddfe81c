/**
 * The bound on carrier messages of sockets accepted in a Worker: the wrapper on its own, then in
 * real workerd with the package's test Worker (the realtime simulator on 127.0.0.1 is the model).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError, concatBytes, type CallEvent, type MediaConnection, type MediaFrame } from '@switchboard/core';
import { RealtimeSimulator } from '@switchboard/conformance';
import { TWILIO_MAX_PAYLOAD } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { bundleWorker, reviveObservation, startWorkerd, type WorkerdProcess } from '../src/testing.js';
import { CLOSE_MESSAGE_TOO_BIG, handleMediaUpgrade } from '../src/index.js';
import { limitMessageSize } from '../src/max-payload.js';

/** A connection whose frames the test delivers by hand. */
function fakeConnection() {
  const handlers: Array<(frame: MediaFrame) => void> = [];
  const closes: Array<[number | undefined, string | undefined]> = [];
  const connection: MediaConnection = {
    send: () => {},
    onMessage: (handler) => (handlers.push(handler), () => {}),
    onClose: () => () => {},
    onError: () => () => {},
    close: (code, reason) => void closes.push([code, reason]),
    bufferedAmount: 0,
    closed: false,
  };
  return { connection, closes, deliver: (frame: MediaFrame) => handlers.forEach((h) => h(frame)) };
}

describe('limitMessageSize', () => {
  it('passes messages up to the bound, counting text in UTF-8 bytes, and closes with 1009 on the first one over it', () => {
    const fake = fakeConnection();
    const bounded = limitMessageSize(fake.connection, 10);
    const seen: MediaFrame[] = [];
    bounded.onMessage((frame) => seen.push(frame));
    bounded.onMessage(() => {}); // a second handler sees the same frames and closes nothing twice
    fake.deliver('0123456789');
    fake.deliver(new Uint8Array(10));
    fake.deliver('ééé'); // 6 bytes
    expect(fake.closes).toEqual([]);
    fake.deliver('éééééé'); // 6 characters, 12 bytes
    expect(fake.closes).toEqual([[CLOSE_MESSAGE_TOO_BIG, 'message too big']]);
    fake.deliver('ok'); // nothing after the refused message
    expect(seen).toEqual(['0123456789', new Uint8Array(10), 'ééé']);
    expect(fake.closes).toHaveLength(1);
  });

  it('refuses a maxPayload that is not a positive whole number', async () => {
    const request = new Request('https://example.test/media', { headers: { Upgrade: 'websocket' } });
    for (const maxPayload of [0, -1, 1.5, Number.NaN, '65536']) {
      await expect(
        handleMediaUpgrade(request, { apiKey: 'sk', agent: { name: 'a' } as never, maxPayload: maxPayload as number }),
      ).rejects.toBeInstanceOf(ConfigError);
    }
  });
});

describe('maxPayload in workerd', () => {
  let worker: WorkerdProcess;
  let simulator: RealtimeSimulator;
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

  beforeAll(async () => {
    const script = await bundleWorker({ entry: here('./fixtures/worker.ts'), tsconfig: here('../tsconfig.json') });
    worker = await startWorkerd({
      script,
      bindings: { TWILIO_AUTH_TOKEN: 'unused', DEBUG: process.env.DEBUG ?? '' },
      durableObjects: { CALLS: 'CallObject' },
    });
    simulator = new RealtimeSimulator();
    await simulator.start();
  }, 120_000);

  afterAll(async () => {
    await worker?.dispose();
    await simulator?.stop();
  });

  function connect(call: string): Promise<WebSocket> {
    const url = new URL(`/media?${new URLSearchParams({ call, model: simulator.url })}`, worker.url);
    url.protocol = 'ws:';
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.href);
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  const streamId = (n: number) => `MZ${String(n).padStart(32, '0')}`;
  const start = (n: number): CallEvent => ({
    type: 'call_start',
    callId: `CA${String(n).padStart(32, '0')}`,
    streamId: streamId(n),
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: {},
    raw: undefined,
  });

  it('closes the socket that sent a message over TWILIO_MAX_PAYLOAD with 1009, and bridges the next call', async () => {
    const peer = new TwilioPeerSimulator();
    const first = simulator.nextSession();
    const big = await connect('too-big');
    await first;
    const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    for (const frame of peer.encodeInbound(start(1))) big.send(frame);
    // Just under the bound: no Twilio event, so at most an error event; the socket stays open.
    big.send(JSON.stringify({ event: 'mark', streamSid: streamId(1), pad: 'x'.repeat(TWILIO_MAX_PAYLOAD - 100) }));
    big.send(
      JSON.stringify({ event: 'media', streamSid: streamId(1), media: { payload: 'A'.repeat(TWILIO_MAX_PAYLOAD) } }),
    );
    expect(await closed).toBe(1009);
    // The message under the bound reached the transport (an error event: a mark without a name).
    const response = await fetch(new URL('/__observe/too-big?timeout=5000', worker.url));
    const seen = reviveObservation(await response.text()) as unknown as {
      emitted: Array<{ name: string; args: unknown[] }>;
    };
    const errors = seen.emitted
      .filter((e) => e.name === 'error')
      .map((e) => (e.args[0] as { error: Error }).error.name);
    expect(errors).toContain('ProtocolError');
    expect(seen.emitted.find((e) => e.name === 'call_end')).toBeDefined();

    const second = simulator.nextSession();
    const next = await connect('after-too-big');
    const model = await second;
    const other = new TwilioPeerSimulator();
    for (const frame of other.encodeInbound(start(2))) next.send(frame);
    const audio = Array.from({ length: 5 }, (_, i) => new Uint8Array(160).fill(0x70 + i));
    for (const payload of audio) for (const frame of other.encodeInbound({ type: 'audio', payload })) next.send(frame);
    const deadline = Date.now() + 20_000;
    while (concatBytes(model.inputAudio).byteLength < 5 * 160 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(concatBytes(model.inputAudio)).toEqual(concatBytes(audio));
    next.close();
  });
});
