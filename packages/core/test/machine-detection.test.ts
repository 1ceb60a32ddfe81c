import { afterEach, describe, expect, it } from 'vitest';
import { CallDirectory, ConfigError, TelephonyRealtimeTransport, type MachineDetectionEvent } from '../src/index.js';
import { FakeCarrier, TestProtocol, wire } from '@switchboard/conformance/testing';

const transports: TelephonyRealtimeTransport[] = [];

afterEach(() => {
  for (const t of transports.splice(0)) t.close();
});

function call(): {
  transport: TelephonyRealtimeTransport;
  carrier: FakeCarrier;
  heard: MachineDetectionEvent[];
  all: unknown[];
} {
  const carrier = new FakeCarrier();
  const transport = new TelephonyRealtimeTransport({
    connection: carrier,
    protocol: new TestProtocol(),
    url: 'ws://127.0.0.1:9/unused',
    inputAudioInactivityTimeoutMs: null,
    carrierIdleTimeoutMs: null,
  });
  transports.push(transport);
  const heard: MachineDetectionEvent[] = [];
  const all: unknown[] = [];
  transport.on('machine_detection', (e) => heard.push(e));
  transport.on('*', (e) => all.push(e));
  return { transport, carrier, heard, all };
}

const detection = (
  callId: string,
  answeredBy: MachineDetectionEvent['answeredBy'] = 'machine',
): MachineDetectionEvent => ({
  type: 'machine_detection',
  callId,
  carrier: 'testcarrier',
  answeredBy,
  greetingEnded: answeredBy === 'machine',
  carrierResult: answeredBy === 'machine' ? 'machine_end_beep' : answeredBy,
  detectionMs: 2400,
  raw: { AnsweredBy: answeredBy },
});

const microtasks = () => new Promise((r) => setTimeout(r, 0));

describe('transport.deliverMachineDetection', () => {
  it('emits machine_detection and the same event on *', () => {
    const { transport, heard, all } = call();
    const event = detection('call-1');
    transport.deliverMachineDetection(event);
    expect(heard).toEqual([event]);
    expect(all).toContainEqual(event);
  });

  it('emits nothing once the call ended, and a listener that throws becomes an error event', () => {
    const { transport, heard } = call();
    const errors: unknown[] = [];
    transport.on('error', (e) => errors.push(e.error));
    transport.on('machine_detection', () => {
      throw new Error('listener');
    });
    transport.deliverMachineDetection(detection('call-1'));
    expect(heard).toHaveLength(1);
    expect(errors).toHaveLength(1);
    transport.end();
    transport.deliverMachineDetection(detection('call-1'));
    expect(heard).toHaveLength(1);
  });
});

describe('CallDirectory', () => {
  it('finds a call by the call id of its call_start and delivers to it; removes it when the call ends', async () => {
    const directory = new CallDirectory();
    const { transport, carrier, heard } = call();
    directory.add(transport);
    expect(directory.size).toBe(0);
    carrier.deliver(wire.start());
    expect(directory.get('call-1')).toBe(transport);
    expect(directory.deliver(detection('call-1'))).toBe('delivered');
    expect(heard.map((e) => e.answeredBy)).toEqual(['machine']);
    transport.end();
    expect(directory.size).toBe(0);
    expect(directory.get('call-1')).toBeUndefined();
    // A result for a call that ended is dropped, not held.
    expect(directory.deliver(detection('call-1'))).toBe('dropped');
    expect(directory.dropped).toBe(1);
    expect(directory.pending).toBe(0);
  });

  it('holds a result that arrives before its call, and delivers it once the call starts', async () => {
    const directory = new CallDirectory();
    expect(directory.deliver(detection('call-1', 'human'))).toBe('held');
    expect(directory.pending).toBe(1);
    const { transport, carrier, heard } = call();
    directory.add(transport);
    carrier.deliver(wire.start());
    await microtasks();
    expect(heard.map((e) => e.answeredBy)).toEqual(['human']);
    expect(directory.pending).toBe(0);
  });

  it('takes an explicit call id, and a call already started', async () => {
    const directory = new CallDirectory();
    const a = call();
    directory.add(a.transport, 'CA-explicit');
    expect(directory.deliver(detection('CA-explicit'))).toBe('delivered');
    const b = call();
    b.carrier.deliver(wire.start());
    directory.add(b.transport);
    expect(directory.get('call-1')).toBe(b.transport);
    expect(directory.size).toBe(2);
  });

  it('bounds what it holds: the oldest beyond maxPending and anything past the TTL are dropped and counted', () => {
    let now = 0;
    const directory = new CallDirectory({ maxPending: 2, pendingTtlMs: 1000, now: () => now });
    expect(directory.deliver(detection('a'))).toBe('held');
    expect(directory.deliver(detection('b'))).toBe('held');
    expect(directory.deliver(detection('c'))).toBe('held');
    expect(directory.pending).toBe(2);
    expect(directory.dropped).toBe(1);
    now = 1500;
    expect(directory.deliver(detection('d'))).toBe('held');
    expect(directory.pending).toBe(1);
    expect(directory.dropped).toBe(3);
    // The dropped oldest is not delivered when its call appears.
    const { transport, heard } = call();
    directory.add(transport, 'a');
    expect(heard).toEqual([]);
  });

  it('drops what is not a machine-detection result, without throwing', () => {
    const directory = new CallDirectory();
    for (const bad of [
      null,
      {},
      { type: 'machine_detection' },
      { type: 'other', callId: 'x' },
      { type: 'machine_detection', callId: '' },
    ]) {
      expect(directory.deliver(bad as never)).toBe('dropped');
    }
    expect(directory.dropped).toBe(5);
    expect(directory.pending).toBe(0);
  });

  it('does not add a call that already ended, and refuses bad options', () => {
    const directory = new CallDirectory();
    const { transport } = call();
    transport.end();
    directory.add(transport, 'gone');
    expect(directory.size).toBe(0);
    expect(() => new CallDirectory({ maxPending: -1 })).toThrow(ConfigError);
    expect(() => new CallDirectory({ pendingTtlMs: Number.NaN })).toThrow(ConfigError);
  });
});
