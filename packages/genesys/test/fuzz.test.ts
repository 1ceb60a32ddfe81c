/**
 * Fuzzing the AudioHook decoder: random and mutated frames, frames of several megabytes, valid
 * frames out of order. Every frame decodes into well-formed events or is refused with a
 * ProtocolError. Below, the frames fuzzing found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import type { FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError, type MediaFrame } from '@switchboard/core';
import { MAX_TEXT_FRAME_CHARS } from '@switchboard/core/protocol';
import { describeDecodeFuzz, expectJunkFrameRefused, thrown } from '@switchboard/test-kit/fuzz';
import { GenesysAudioHookProtocol } from '../src/index.js';
import { GenesysPeerSimulator } from '../src/testing.js';

/**
 * One short session as Genesys sends it: open, audio (once the bridge answered opened), a ping,
 * DTMF, more audio and close. The seeds the fuzz run mutates, for PCMU and for stereo L16.
 */
function seeds(format: 'PCMU' | 'L16', stereo: boolean): MediaFrame[] {
  const peer = new GenesysPeerSimulator({ format, stereo, pingEvery: 3 });
  const bridge = new GenesysAudioHookProtocol({ formats: [format] });
  const frames: MediaFrame[] = [];
  const send = (...out: MediaFrame[]) => {
    frames.push(...out);
    for (const frame of out) bridge.decode(frame);
    for (const reply of bridge.takeReplies()) peer.decodeOutbound(reply);
  };
  send(
    ...peer.encodeInbound({
      type: 'call_start',
      streamId: 'e160e428-53e2-487c-977d-96989bf5c99d',
      callId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
      from: '+15550001111',
      to: '+15550002222',
      format: peer.format,
      customParameters: { who: 'fuzz' },
      raw: null,
    }),
  );
  const bytes = format === 'L16' ? 320 : 160;
  for (let n = 1; n <= 4; n++)
    send(
      ...peer.encodeInbound({
        type: 'audio',
        payload: Uint8Array.from({ length: bytes }, (_, i) => (i * 37 + n) & 0xff),
      }),
    );
  send(...peer.encodeInbound({ type: 'dtmf', digit: '5' }), ...peer.encodeInbound({ type: 'dtmf', digit: '#' }));
  send(...peer.encodeInbound({ type: 'call_end' }));
  return frames;
}

const targets: FuzzTarget[] = [
  { name: 'genesys PCMU', seeds: seeds('PCMU', false), create: () => new GenesysAudioHookProtocol() },
  {
    name: 'genesys L16 stereo',
    seeds: seeds('L16', true),
    create: () => new GenesysAudioHookProtocol({ formats: ['L16'] }),
  },
];

describeDecodeFuzz('fuzzing $name decode', targets);

describe('frames fuzzing found', () => {
  const open = String(targets[0]!.seeds[0]);

  it('has seeds of every kind: open, binary audio, ping, dtmf, close', () => {
    const kinds = targets[0]!.seeds.map((f) =>
      typeof f === 'string' ? (JSON.parse(f) as { type: string }).type : 'audio',
    );
    expect(new Set(kinds)).toEqual(new Set(['open', 'audio', 'ping', 'dtmf', 'close']));
  });

  it('refuses a 10 MB text frame that is not JSON with a short excerpt', () => {
    expectJunkFrameRefused(new GenesysAudioHookProtocol());
  });

  it('refuses, unparsed, an open longer than the text frame limit', () => {
    const long = open.replace('"parameters":{', `"parameters":{"padding":"${'x'.repeat(MAX_TEXT_FRAME_CHARS)}",`);
    const error = thrown(() => new GenesysAudioHookProtocol().decode(long));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/longer than the 1048576-character limit/);
  });

  it('keeps an input variable nested deeper than JSON.stringify can write, as text', () => {
    const depth = 50_000;
    const deep = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const frame = open.replace('"inputVariables":{', `"inputVariables":{"deep":${deep},`);
    const [event] = new GenesysAudioHookProtocol().decode(frame);
    expect(event?.type).toBe('call_start');
    const parameters = (event as { customParameters: Record<string, string> }).customParameters;
    expect(parameters['deep']).toBe(deep);
    expect(parameters['who']).toBe('fuzz');
  });

  it('refuses an open whose media entries are of the wrong types', () => {
    for (const media of ['"PCMU"', '[{"type":"audio","format":"PCMU","channels":"external","rate":8000}]', '[null]']) {
      const frame = open.replace(/"media":\[[^\]]*\]\]?/, `"media":${media}`);
      expect(thrown(() => new GenesysAudioHookProtocol().decode(frame))).toBeInstanceOf(ProtocolError);
    }
  });
});
