import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/index.js';
import {
  FrameParse,
  MAX_TEXT_FRAME_CHARS,
  jsonText,
  readFrameObject,
  stringRecord,
  type FailFrame,
} from '../src/protocol.js';

const fail: FailFrame = (message, frame) => {
  throw new ProtocolError('acme', message, { frame });
};

describe('jsonText', () => {
  it('writes what JSON.stringify writes', () => {
    for (const value of [
      null,
      1,
      -0.5,
      'a"b\u2028',
      true,
      [],
      {},
      [1, [2, { a: [3] }]],
      { b: 1, a: { '': null, __proto__x: 's' }, 10: 2 },
      JSON.parse('{"__proto__":{"x":1}}'),
    ]) {
      expect(jsonText(value)).toBe(JSON.stringify(value));
    }
  });

  it('writes values nested deeper than JSON.stringify can', () => {
    const depth = 100_000;
    const arrays = `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}[1,{"b":2}]${'}'.repeat(depth)}`;
    expect(() => JSON.stringify(JSON.parse(arrays))).toThrow(RangeError);
    expect(jsonText(JSON.parse(arrays))).toBe(arrays);
    expect(jsonText(JSON.parse(objects))).toBe(objects);
  });

  it('lets stringRecord pass on a deeply nested parameter', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    expect(stringRecord(JSON.parse(`{"a":${deep},"b":2}`))).toEqual({ a: deep, b: '2' });
  });
});

describe('text frame limit', () => {
  it('refuses a frame longer than the protocol reads, before parsing it', () => {
    const parses = new FrameParse({ maxChars: 20 });
    expect(readFrameObject('{"event":"start"}', fail, parses)).toEqual({ event: 'start' });
    expect(() => readFrameObject('{"event":"start","x":1}', fail, parses)).toThrow(
      /23 characters is longer than the 20-character limit/,
    );
    // Without a FrameParse (a simulator's check) there is no limit.
    expect(readFrameObject('{"event":"start","x":1}', fail)).toEqual({ event: 'start', x: 1 });
    expect(new FrameParse().maxChars).toBe(MAX_TEXT_FRAME_CHARS);
  });
});

describe('FrameParse.rawMessage', () => {
  it('gives a frame longer than the limit back as text, unparsed', () => {
    const parses = new FrameParse({ maxChars: 20 });
    expect(parses.rawMessage('{"event":"start","x":1}')).toBe('{"event":"start","x":1}');
    expect(parses.rawMessage('{"event":"start"}')).toEqual({ event: 'start' });
  });
});
