/**
 * Fuzzing every preset's decoder (Vonage, Asterisk in text and JSON, jambonz, generic): random
 * and mutated control messages, binary audio, messages of several megabytes, valid frames out of
 * order. Every frame decodes into well-formed events or is refused with a ProtocolError. Below,
 * the frames fuzzing found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError, type AudioFormat } from '@switchboard/core';
import { describeDecodeFuzz, thrown } from '@switchboard/test-kit/fuzz';
import { RawWebSocketProtocol, presets, type RawWebSocketPresetName } from '../src/index.js';
import { RawWebSocketPeerSimulator } from '../src/testing.js';

const L16_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

function target(preset: RawWebSocketPresetName, format: AudioFormat): FuzzTarget {
  const seeds = fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset, format }), { format });
  // Asterisk speaks plain text or, with f(json), JSON.
  if (preset === 'asterisk')
    seeds.push(...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset, format, json: true }), { format }));
  return { name: preset, seeds, create: () => new RawWebSocketProtocol(preset) };
}

const targets = [
  target('vonage', L16_16K),
  target('asterisk', MULAW_8K),
  target('jambonz', L16_8K),
  target('generic', L16_16K),
];

/** A protocol of `preset` whose call started with `start`. */
function started(preset: RawWebSocketPresetName, start: string): RawWebSocketProtocol {
  const protocol = new RawWebSocketProtocol(preset);
  protocol.decode(start);
  return protocol;
}

describeDecodeFuzz('fuzzing the $name preset', targets);

describe('frames fuzzing found', () => {
  const deep = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

  it('passes on start metadata nested deeper than JSON.stringify can write', () => {
    // 30 000 levels fit the 64 KiB message limit.
    const cases: Array<[RawWebSocketPresetName, string, string]> = [
      ['generic', `{"type":"start","streamId":"s1","metadata":{"deep":${deep(30_000)}}}`, 'deep'],
      [
        'vonage',
        `{"event":"websocket:connected","content-type":"audio/l16;rate=16000","deep":${deep(30_000)}}`,
        'deep',
      ],
      ['jambonz', `{"callSid":"c1","sampleRate":8000,"deep":${deep(30_000)}}`, 'deep'],
      [
        'asterisk',
        `{"event":"MEDIA_START","connection_id":"c1","format":"ulaw","channel_variables":{"deep":${deep(30_000)}}}`,
        'deep',
      ],
    ];
    for (const [preset, frame, key] of cases) {
      const [event] = new RawWebSocketProtocol(preset).decode(frame);
      expect(event?.type, preset).toBe('call_start');
      expect((event as { customParameters: Record<string, string> }).customParameters[key], preset).toBe(deep(30_000));
    }
  });

  it('refuses a jambonz message whose event or type is nested deep with a ProtocolError', () => {
    const protocol = started('jambonz', '{"callSid":"c1","sampleRate":8000}');
    for (const frame of [
      `{"event":${deep(30_000)}}`,
      `{"type":${deep(30_000)}}`,
      `{"callSid":"c2","mixType":${deep(30_000)}}`,
    ]) {
      const error = thrown(() => protocol.decode(frame));
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).message.length).toBeLessThan(300);
    }
  });

  it('refuses a DTMF message with a negative duration', () => {
    const cases: Array<[RawWebSocketPresetName, string, string]> = [
      ['jambonz', '{"callSid":"c1","sampleRate":8000}', '{"event":"dtmf","dtmf":"5","duration":"-1"}'],
      [
        'vonage',
        '{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}',
        '{"event":"websocket:dtmf","digit":"5","duration":-40}',
      ],
      ['generic', '{"type":"start","streamId":"s1"}', '{"type":"dtmf","digit":"5","durationMs":-1}'],
      ['asterisk', 'MEDIA_START connection_id:c1 format:ulaw', 'DTMF_END digit:5 duration:-80'],
    ];
    for (const [preset, start, dtmf] of cases) {
      const error = thrown(() => started(preset, start).decode(dtmf));
      expect(error, preset).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).message, preset).toMatch(/must not be negative/);
    }
    expect(
      started('jambonz', '{"callSid":"c1","sampleRate":8000}').decode('{"event":"dtmf","dtmf":"5","duration":"800"}'),
    ).toEqual([{ type: 'dtmf', digit: '5', durationMs: 100 }]);
  });

  it('turns whatever a custom preset throws into a ProtocolError', () => {
    const careless = {
      ...presets.generic,
      name: 'careless',
      decodeControl(text: string) {
        return [JSON.parse(text).start.id];
      },
    };
    const protocol = new RawWebSocketProtocol({ preset: careless });
    for (const frame of ['not json', '{}', 'x'.repeat(60_000)]) {
      const error = thrown(() => protocol.decode(frame));
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).provider).toBe('careless');
      expect((error as ProtocolError).cause).toBeInstanceOf(Error);
    }
    const noFormat = new RawWebSocketProtocol({
      preset: {
        ...presets.generic,
        name: 'noformat',
        decodeControl: () => [{ type: 'call_start', streamId: 's', customParameters: {}, raw: null }] as never,
      },
    });
    expect(thrown(() => noFormat.decode('{}'))).toBeInstanceOf(ProtocolError);
  });
});
