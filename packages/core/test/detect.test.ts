import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  ProtocolDetectionError,
  TelephonyRealtimeTransport,
  detectMediaProtocol,
  detectProtocol,
  type CallStartEvent,
  type MediaFrame,
  type ProtocolCandidate,
} from '../src/index.js';
import { FakeCarrier, FakeRealtimeServer, TestProtocol, until, wire } from '@switchboard/conformance/testing';

/** The test carrier: JSON frames whose first one is `{"e":"start",…}`. */
const testCandidate: ProtocolCandidate = {
  name: 'testcarrier',
  matches: (frame) => typeof frame === 'string' && frame.startsWith('{"e":"start"'),
  create: () => new TestProtocol(),
};

/** A carrier that opens with a binary frame starting 0x01. */
const binaryCandidate: ProtocolCandidate = {
  name: 'binarycarrier',
  matches: (frame) => frame instanceof Uint8Array && frame[0] === 0x01,
  create: () => new TestProtocol({ playbackAck: 'none' }),
};

const neverCandidate: ProtocolCandidate = { name: 'never', matches: () => false, create: () => new TestProtocol() };

describe('detectProtocol', () => {
  it('returns the first candidate that recognises the frame, in the order given', () => {
    const greedy: ProtocolCandidate = { name: 'greedy', matches: () => true, create: () => new TestProtocol() };
    expect(detectProtocol(wire.start(), [neverCandidate, testCandidate, greedy])?.name).toBe('testcarrier');
    expect(detectProtocol(wire.start(), [greedy, testCandidate])?.name).toBe('greedy');
    expect(detectProtocol(new Uint8Array([1, 2]), [testCandidate, binaryCandidate])?.name).toBe('binarycarrier');
    expect(detectProtocol('hello', [testCandidate, binaryCandidate])).toBeUndefined();
  });

  it('treats a matcher that throws as no match', () => {
    const broken: ProtocolCandidate = {
      name: 'broken',
      matches: () => {
        throw new Error('boom');
      },
      create: () => new TestProtocol(),
    };
    expect(detectProtocol(wire.start(), [broken, testCandidate])?.name).toBe('testcarrier');
  });
});

describe('detectMediaProtocol', () => {
  let carrier: FakeCarrier;
  beforeEach(() => {
    carrier = new FakeCarrier();
  });

  it('refuses bad arguments with a ConfigError', () => {
    expect(() => detectMediaProtocol(carrier, [])).toThrow(ConfigError);
    expect(() => detectMediaProtocol(carrier, [{ name: 'x' } as ProtocolCandidate])).toThrow(ConfigError);
    expect(() => detectMediaProtocol(carrier, [testCandidate], { timeoutMs: 0 })).toThrow(ConfigError);
    expect(() => detectMediaProtocol(carrier, [testCandidate], { maxFrames: 0 })).toThrow(ConfigError);
  });

  it('picks the protocol from the first frame and replays it, then the live frames, to the handler', async () => {
    const detecting = detectMediaProtocol(carrier, [binaryCandidate, testCandidate]);
    carrier.deliver(wire.start('S9'));
    carrier.deliver(wire.dtmf('1')); // arrives after the decision, before anyone listens
    const { protocol, candidate, connection } = await detecting;
    expect(candidate.name).toBe('testcarrier');
    expect(protocol).toBeInstanceOf(TestProtocol);

    carrier.deliver(wire.dtmf('2'));
    const seen: MediaFrame[] = [];
    connection.onMessage((frame) => seen.push(frame));
    // The replay waits a microtask, so a constructor registering the handler finishes first.
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual([wire.start('S9'), wire.dtmf('1'), wire.dtmf('2')]);
    carrier.deliver(wire.dtmf('3'));
    expect(seen.at(-1)).toBe(wire.dtmf('3'));
    expect(seen).toHaveLength(4);
  });

  it('reads up to maxFrames frames before deciding, and replays all of them', async () => {
    const detecting = detectMediaProtocol(carrier, [testCandidate], { maxFrames: 3 });
    carrier.deliver('{"hello":true}');
    carrier.deliver(wire.start('S2'));
    const { connection } = await detecting;
    const seen: MediaFrame[] = [];
    connection.onMessage((frame) => seen.push(frame));
    await Promise.resolve();
    expect(seen).toEqual(['{"hello":true}', wire.start('S2')]);
  });

  it('keeps at most maxBufferedFrames frames until the transport registers, and counts the frames it drops', async () => {
    const detecting = detectMediaProtocol(carrier, [testCandidate], { maxBufferedFrames: 3 });
    carrier.deliver(wire.start('S3'));
    const { connection } = await detecting;
    for (let i = 0; i < 5; i++) carrier.deliver(`{"n":${i}}`);
    expect(connection.droppedFrames).toBe(3);
    const seen: MediaFrame[] = [];
    connection.onMessage((frame) => seen.push(frame));
    await Promise.resolve();
    // The start message and the first frames after it are kept, in order; live frames follow.
    carrier.deliver('{"n":"live"}');
    expect(seen).toEqual([wire.start('S3'), '{"n":0}', '{"n":1}', '{"n":"live"}']);
    expect(connection.droppedFrames).toBe(3);
  });

  it('refuses a timeout longer than timers can wait, and a buffer smaller than maxFrames', () => {
    // A delay past 2^31-1 ms would fire at once and fail every detection.
    expect(() => detectMediaProtocol(carrier, [testCandidate], { timeoutMs: 3_000_000_000 })).toThrow(ConfigError);
    expect(() => detectMediaProtocol(carrier, [testCandidate], { maxFrames: 3, maxBufferedFrames: 2 })).toThrow(
      ConfigError,
    );
    expect(() => detectMediaProtocol(carrier, [testCandidate], { maxBufferedFrames: 1.5 })).toThrow(ConfigError);
  });

  it('rejects with a typed error when nothing matches, and leaves no listener on the socket', async () => {
    const detecting = detectMediaProtocol(carrier, [testCandidate, binaryCandidate], { maxFrames: 2 });
    carrier.deliver('GARBAGE');
    carrier.deliver(new Uint8Array([9]));
    const error = await detecting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolDetectionError);
    expect((error as ProtocolDetectionError).reason).toBe('no_match');
    expect((error as ProtocolDetectionError).code).toBe('protocol_undetected');
    expect((error as ProtocolDetectionError).framesSeen).toBe(2);
    expect((error as Error).message).toContain('testcarrier, binarycarrier');
    expect(carrier.listenerCount).toBe(0);
  });

  it('times out when the carrier says nothing', async () => {
    const error = await detectMediaProtocol(carrier, [testCandidate], { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolDetectionError);
    expect((error as ProtocolDetectionError).reason).toBe('timeout');
    expect(carrier.listenerCount).toBe(0);
  });

  it('rejects when the socket closes first, or is already closed', async () => {
    const detecting = detectMediaProtocol(carrier, [testCandidate]);
    carrier.close();
    const error = await detecting.catch((e: unknown) => e);
    expect((error as ProtocolDetectionError).reason).toBe('closed');
    const again = await detectMediaProtocol(carrier, [testCandidate]).catch((e: unknown) => e);
    expect((again as ProtocolDetectionError).reason).toBe('closed');
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const detecting = detectMediaProtocol(carrier, [testCandidate], { signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(detecting).rejects.toThrow('shutting down');
    expect(carrier.listenerCount).toBe(0);
  });

  it('passes send, close and the socket state through to the carrier socket', async () => {
    const detecting = detectMediaProtocol(carrier, [testCandidate]);
    carrier.deliver(wire.start());
    const { connection } = await detecting;
    connection.send('out');
    expect(carrier.sent).toEqual(['out']);
    carrier.bufferedAmount = 42;
    expect(connection.bufferedAmount).toBe(42);
    connection.cork?.();
    expect(carrier.corked).toBe(1);
    connection.uncork?.();
    const closes: Array<number | undefined> = [];
    connection.onClose((code) => closes.push(code));
    connection.close(1000, 'bye');
    expect(connection.closed).toBe(true);
    expect(closes).toEqual([1000]);
  });
});

describe('one media route, several carriers', () => {
  let server: FakeRealtimeServer;
  let url: string;
  let transport: TelephonyRealtimeTransport | undefined;

  beforeEach(async () => {
    server = new FakeRealtimeServer();
    url = await server.start();
  });
  afterEach(async () => {
    transport?.close();
    transport = undefined;
    await server.stop();
  });

  it('the transport sees the start frame the detection read: call metadata and audio, nothing lost', async () => {
    const carrier = new FakeCarrier();
    const detecting = detectMediaProtocol(carrier, [binaryCandidate, testCandidate]);
    const audio = (n: number) => new Uint8Array(160).fill(n);
    carrier.deliver(wire.start('S7'));
    carrier.deliver(wire.audio(audio(1), 1, 0));
    const { protocol, connection } = await detecting;
    carrier.deliver(wire.audio(audio(2), 2, 20));

    transport = new TelephonyRealtimeTransport({ connection, protocol, url, inputAudioInactivityTimeoutMs: null });
    const starts: CallStartEvent[] = [];
    transport.on('call_start', (event) => starts.push(event));
    await transport.connect({ apiKey: 'sk-test' });
    carrier.deliver(wire.audio(audio(3), 3, 40));

    await until(() => server.inputAudio().byteLength >= 480);
    expect(starts.map((s) => s.streamId)).toEqual(['S7']);
    expect(transport.streamId).toBe('S7');
    expect([...server.inputAudio()]).toEqual([...audio(1), ...audio(2), ...audio(3)]);

    transport.close();
    transport = undefined;
    expect(carrier.listenerCount).toBe(0);
  });
});
