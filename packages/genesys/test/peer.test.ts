import { ProtocolError, type CallEvent } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { GenesysAudioHookProtocol } from '../src/index.js';
import { GENESYS_INVALID_AUDIO_CODE, GenesysPeerSimulator } from '../src/testing.js';

const SESSION = 'e160e428-53e2-487c-977d-96989bf5c99d';
const start: CallEvent = {
  type: 'call_start',
  streamId: SESSION,
  callId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
  customParameters: {},
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

/** A peer and a bridge protocol, connected: the bridge's answers reach the peer. */
function session(options: ConstructorParameters<typeof GenesysPeerSimulator>[0] = {}) {
  const peer = new GenesysPeerSimulator(options);
  const bridge = new GenesysAudioHookProtocol({ formats: [options.format ?? 'PCMU'] });
  const deliver = (frames: Array<string | Uint8Array>) => {
    for (const frame of frames) bridge.decode(frame);
    return frames;
  };
  const answer = () => bridge.takeReplies().flatMap((reply) => peer.decodeOutbound(reply));
  return { peer, bridge, deliver, answer };
}

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('GenesysPeerSimulator', () => {
  it('holds the caller’s audio until the bridge answered opened', () => {
    const { peer, deliver, answer } = session();
    deliver(peer.encodeInbound(start));
    expect(peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160) })).toEqual([]);
    answer();
    const frames = peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(1) });
    expect(frames.map((f) => (typeof f === 'string' ? 'text' : f.byteLength))).toEqual([160, 160]);
  });

  it('pings every pingEvery frames, and accepts one pong for each', () => {
    const { peer, deliver, answer } = session({ pingEvery: 2 });
    deliver(peer.encodeInbound(start));
    answer();
    deliver(peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160) }));
    deliver(peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160) }));
    expect(peer.unansweredPings).toBe(1);
    answer();
    expect(peer.unansweredPings).toBe(0);
  });

  it('interleaves a silent agent channel when it offers stereo, which the bridge drops again', () => {
    const { peer, bridge, deliver, answer } = session({ format: 'L16', stereo: true });
    deliver(peer.encodeInbound(start));
    answer();
    const [frame] = peer.encodeInbound({ type: 'audio', payload: Uint8Array.of(1, 2, 3, 4) });
    expect(frame).toEqual(Uint8Array.of(1, 2, 0, 0, 3, 4, 0, 0));
    expect(bridge.decode(frame!)).toEqual([{ type: 'audio', payload: Uint8Array.of(1, 2, 3, 4) }]);
  });

  it('refuses what Genesys would refuse from the bridge', () => {
    const { peer, deliver, answer } = session();
    deliver(peer.encodeInbound(start));
    const message = (seq: number, type: string, parameters: object = {}, extra: object = {}) =>
      JSON.stringify({ version: '2', type, seq, clientseq: 1, id: SESSION, parameters, ...extra });
    expect(refusal(() => peer.decodeOutbound(new Uint8Array(160))).code).toBe(GENESYS_INVALID_AUDIO_CODE);
    expect(refusal(() => peer.decodeOutbound(message(2, 'opened'))).message).toMatch(/seq 2 is not 1/);
    expect(refusal(() => peer.decodeOutbound(message(1, 'opened', {}, { extra: 1 }))).message).toMatch(/extra/);
    expect(refusal(() => peer.decodeOutbound(message(1, 'pong'))).message).toMatch(/pong without a ping/);
    expect(refusal(() => peer.decodeOutbound(message(1, 'opened', {}, { clientseq: 9 }))).message).toMatch(/clientseq/);
    expect(refusal(() => peer.decodeOutbound(message(1, 'opened', { media: [] }))).message).toMatch(/offered media/);
    expect(refusal(() => peer.decodeOutbound(message(1, 'hello'))).message).toMatch(/not a server message/);
    answer();
    expect(peer.opened).toBe(true);
    expect(refusal(() => peer.decodeOutbound(new Uint8Array(64_001))).code).toBe(GENESYS_INVALID_AUDIO_CODE);
    expect(peer.decodeOutbound(new Uint8Array(1600))).toEqual([{ type: 'audio', payload: new Uint8Array(1600) }]);
    expect(refusal(() => peer.decodeOutbound(message(2, 'closed'))).message).toMatch(/closed without a close/);
    const disconnect = message(2, 'disconnect', { reason: 'completed', outputVariables: { a: 1 } });
    expect(refusal(() => peer.decodeOutbound(disconnect)).message).toMatch(/outputVariables/);
  });

  it('closes with close after the caller’s last audio, and answers pause with paused', () => {
    const { peer, bridge, deliver, answer } = session();
    deliver(peer.encodeInbound(start));
    answer();
    peer.decodeOutbound(bridge.requestPause(true)[0]!);
    const [paused] = deliver(peer.encodeInbound({ type: 'dtmf', digit: '1' }));
    expect(JSON.parse(String(paused))).toMatchObject({ type: 'paused', serverseq: 2 });
    expect(bridge.paused).toBe(true);
    const frames = deliver(peer.encodeInbound({ type: 'call_end' }));
    expect(JSON.parse(String(frames.at(-1)))).toMatchObject({ type: 'close', parameters: { reason: 'end' } });
    expect(answer()).toEqual([]);
  });
});
