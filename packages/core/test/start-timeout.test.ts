/**
 * A carrier socket that never starts a call (it answers pings, it sends nothing, or only frames
 * that are no start) ends after `carrierStartTimeoutMs` with `no_call_start`, and its socket
 * closes; a call that started is not touched by it; a pre-warmed call's deadline counts from its
 * stream's arrival. No model: the transports are built and never connected.
 */
import { FakeCarrier, until } from '@switchboard/conformance/testing';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, PendingMediaConnection, TRANSPORT_DEFAULTS, type MediaConnection } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function transportOn(connection: FakeCarrier | PendingMediaConnection, carrierStartTimeoutMs: number | null) {
  const transport = new TwilioRealtimeTransport({
    twilioWebSocket: connection as unknown as MediaConnection,
    carrierStartTimeoutMs,
    inputAudioInactivityTimeoutMs: null,
  });
  const ends: string[] = [];
  const errors: string[] = [];
  transport.on('call_end', (event) => ends.push(event.reason));
  transport.on('error', (event) => errors.push((event.error as { code?: string }).code ?? ''));
  cleanups.push(() => transport.close());
  return { transport, ends, errors };
}

const start = () =>
  new TwilioPeerSimulator().encodeInbound({
    type: 'call_start',
    callId: 'CA-start',
    streamId: '',
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: {},
    raw: null,
  });

describe('carrierStartTimeoutMs', () => {
  it('defaults to 10 s and refuses a value that is no timer', () => {
    expect(TRANSPORT_DEFAULTS.carrierStartTimeoutMs).toBe(10_000);
    expect(
      () => new TwilioRealtimeTransport({ twilioWebSocket: new FakeCarrier(), carrierStartTimeoutMs: -1 }),
    ).toThrow(ConfigError);
  });

  it('ends a socket that sends no start (only its connected frame) with no_call_start, and closes it', async () => {
    const socket = new FakeCarrier();
    const { ends, errors } = transportOn(socket, 40);
    socket.deliver(start()[0]!); // Twilio's `connected`: no call yet
    await until(() => ends.length > 0);
    expect(ends).toEqual(['no_call_start']);
    expect(errors).toContain('no_call_start');
    await until(() => socket.closed);
  });

  it('leaves a call that started alone', async () => {
    const socket = new FakeCarrier();
    const { ends } = transportOn(socket, 40);
    for (const frame of start()) socket.deliver(frame);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(ends).toEqual([]);
    expect(socket.closed).toBe(false);
  });

  it('counts a pre-warmed call from its stream, not from the warm-up', async () => {
    const pending = new PendingMediaConnection();
    const { ends } = transportOn(pending, 40);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(ends).toEqual([]);
    const socket = new FakeCarrier();
    pending.attach(socket);
    await until(() => ends.length > 0);
    expect(ends).toEqual(['no_call_start']);
  });

  it('null: no limit', async () => {
    const socket = new FakeCarrier();
    const { ends } = transportOn(socket, null);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(ends).toEqual([]);
  });
});
