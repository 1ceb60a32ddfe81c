import { describe, expect, it } from 'vitest';
import { ConfigError, ProtocolError } from '../src/index.js';
import {
  ActiveStreamId,
  FrameParse,
  assertTextFrame,
  callStartEvent,
  checkExactKeys,
  checkOutboundStreamId,
  decodeDtmfFrame,
  decodeMarkFrame,
  decodeMediaPayload,
  decodeStopFrame,
  encodeStreamCommand,
  readFrameEvent,
  readFrameObject,
  readOutboundMark,
  readOutboundMedia,
  readStartObject,
  readStartStreamId,
  rejectOutboundEvent,
  takeCarrierSocket,
  type FailFrame,
  type JsonObject,
  type StreamCommandWriters,
} from '../src/protocol.js';

const fail: FailFrame = (message, frame) => {
  throw new ProtocolError('acme', message, { frame, code: 'acme_bad_frame' });
};

/** The ProtocolError `run` throws. */
function protocolError(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

const object = (text: string): JsonObject => JSON.parse(text) as JsonObject;

describe('the frame envelope', () => {
  it('refuses binary frames with the carrier message', () => {
    const error = protocolError(() => assertTextFrame(new Uint8Array([1]), fail, 'acme sends text frames'));
    expect(error.message).toBe('[acme] acme sends text frames');
    expect(error.code).toBe('acme_bad_frame');
    expect(() => assertTextFrame('{}', fail, 'unused')).not.toThrow();
  });

  it.each([
    ['not JSON', '{"event":', 'frame is not valid JSON'],
    ['an array', '[1]', 'frame is not a JSON object'],
    ['null', 'null', 'frame is not a JSON object'],
  ])('refuses %s', (_label, frame, message) => {
    expect(protocolError(() => readFrameObject(frame, fail)).message).toBe(`[acme] ${message}`);
    expect(protocolError(() => readFrameObject(frame, fail, new FrameParse())).message).toBe(`[acme] ${message}`);
  });

  it('remembers the parse for rawMessage when given a FrameParse', () => {
    const parses = new FrameParse();
    const frame = '{"event":"connected"}';
    const message = readFrameObject(frame, fail, parses);
    expect(parses.rawMessage(frame)).toBe(message);
  });

  it('reads a string event and refuses any other', () => {
    expect(readFrameEvent({ event: 'media' }, '', fail)).toBe('media');
    expect(protocolError(() => readFrameEvent({ event: 5 }, '', fail)).message).toBe(
      '[acme] frame has no string "event" field',
    );
    expect(protocolError(() => readFrameEvent({}, '', fail)).message).toContain('no string "event"');
  });

  it('decodes base64 payloads and refuses bad ones', () => {
    expect(decodeMediaPayload('AQID', '', fail)).toEqual(new Uint8Array([1, 2, 3]));
    expect(protocolError(() => decodeMediaPayload('@@@', '', fail)).message).toBe(
      '[acme] media.payload is not valid base64',
    );
  });
});

describe('mark, dtmf and stop frames', () => {
  it('reads mark.name, empty included', () => {
    expect(decodeMarkFrame(object('{"mark":{"name":"m1"}}'), '', fail)).toEqual({ type: 'playback_ack', name: 'm1' });
    expect(decodeMarkFrame(object('{"mark":{"name":""}}'), '', fail)).toEqual({ type: 'playback_ack', name: '' });
    for (const bad of ['{}', '{"mark":"m1"}', '{"mark":{"name":1}}']) {
      expect(protocolError(() => decodeMarkFrame(object(bad), bad, fail)).message).toContain(
        'without a string mark.name',
      );
    }
  });

  it('passes any non-empty digit on as sent under `any`', () => {
    const rules = { digits: 'any', duration: false } as const;
    expect(decodeDtmfFrame(object('{"dtmf":{"digit":"w","duration":80}}'), '', fail, rules)).toEqual({
      type: 'dtmf',
      digit: 'w',
    });
    for (const bad of ['{}', '{"dtmf":{"digit":""}}', '{"dtmf":{"digit":1}}']) {
      expect(protocolError(() => decodeDtmfFrame(object(bad), bad, fail, rules)).message).toBe(
        '[acme] dtmf frame without a string dtmf.digit',
      );
    }
  });

  it('takes one keypad key, upper-cased, under `keypad`', () => {
    const rules = { digits: 'keypad', duration: false } as const;
    expect(decodeDtmfFrame(object('{"dtmf":{"digit":"b"}}'), '', fail, rules)).toEqual({ type: 'dtmf', digit: 'B' });
    expect(decodeDtmfFrame(object('{"dtmf":{"digit":"#"}}'), '', fail, rules)).toEqual({ type: 'dtmf', digit: '#' });
    for (const bad of ['{"dtmf":{"digit":"E"}}', '{"dtmf":{"digit":"12"}}', '{"dtmf":{"digit":""}}']) {
      expect(protocolError(() => decodeDtmfFrame(object(bad), bad, fail, rules)).message).toContain(
        'of 0-9, *, #, A-D',
      );
    }
  });

  it('reads dtmf.duration only when the rules ask for it', () => {
    const frame = object('{"dtmf":{"digit":"5","duration":"120"}}');
    expect(decodeDtmfFrame(frame, '', fail, { digits: 'any', duration: true })).toEqual({
      type: 'dtmf',
      digit: '5',
      durationMs: 120,
    });
    expect(decodeDtmfFrame(frame, '', fail, { digits: 'any', duration: false })).toEqual({ type: 'dtmf', digit: '5' });
    expect(
      decodeDtmfFrame(object('{"dtmf":{"digit":"5","duration":-1}}'), '', fail, { digits: 'any', duration: true }),
    ).toEqual({
      type: 'dtmf',
      digit: '5',
    });
  });

  it('ends the call with reason `stop`, or stop.reason when asked', () => {
    const withReason = object('{"stop":{"reason":"callended"}}');
    expect(decodeStopFrame(withReason)).toEqual({ type: 'call_end', reason: 'stop' });
    expect(decodeStopFrame(withReason, { readReason: true })).toEqual({ type: 'call_end', reason: 'callended' });
    expect(decodeStopFrame(object('{"stop":{"reason":""}}'), { readReason: true })).toEqual({
      type: 'call_end',
      reason: 'stop',
    });
    expect(decodeStopFrame(object('{"stop":7}'), { readReason: true })).toEqual({ type: 'call_end', reason: 'stop' });
  });
});

describe('start frames', () => {
  it('reads the start object, empty when absent', () => {
    expect(readStartObject(object('{"start":{"a":1}}'), '', fail)).toEqual({ a: 1 });
    expect(readStartObject({}, '', fail)).toEqual({});
    expect(protocolError(() => readStartObject(object('{"start":[]}'), '', fail)).message).toBe(
      '[acme] start frame with a non-object start field',
    );
  });

  it('requires a non-empty string stream id', () => {
    expect(readStartStreamId('S1', 'stream_sid', '', fail)).toBe('S1');
    expect(protocolError(() => readStartStreamId(5, 'stream_sid', '', fail)).message).toBe(
      '[acme] start frame with a non-string stream_sid',
    );
    expect(protocolError(() => readStartStreamId('', 'stream_sid', '', fail)).message).toBe(
      '[acme] start frame without a stream_sid',
    );
    expect(protocolError(() => readStartStreamId(undefined, 'streamId', '', fail)).message).toBe(
      '[acme] start frame without a streamId',
    );
  });

  it('builds call_start, keeping only non-empty call id, from and to', () => {
    const format = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;
    const raw = { event: 'start' };
    expect(
      callStartEvent({ streamId: 'S', format, customParameters: { k: 'v' }, raw, callId: 'C', from: '+1', to: '' }),
    ).toEqual({
      type: 'call_start',
      streamId: 'S',
      format,
      customParameters: { k: 'v' },
      raw,
      callId: 'C',
      from: '+1',
    });
    const bare = callStartEvent({
      streamId: 'S',
      format,
      customParameters: {},
      raw,
      callId: 3,
      from: undefined,
      to: null,
    });
    expect(Object.keys(bare)).toEqual(['type', 'streamId', 'format', 'customParameters', 'raw']);
  });
});

describe('outbound frames', () => {
  it('names the stream once started, and refuses before', () => {
    const stream = new ActiveStreamId('acme', 'stream_sid');
    expect(stream.id).toBeUndefined();
    const error = protocolError(() => stream.json('mark'));
    expect(error.message).toBe("[acme] cannot send mark before the stream's start message (no stream_sid yet)");
    stream.set('S"1');
    expect(stream.id).toBe('S"1');
    expect(stream.json('mark')).toBe('"S\\"1"');
  });

  const writers: StreamCommandWriters = {
    audio: (payload) => `audio:${payload.byteLength}`,
    mark: (name) => `mark:${name}`,
    clear: () => 'clear',
  };

  it('writes audio, marks and clears; nothing for empty audio or hang-up', () => {
    expect(encodeStreamCommand({ type: 'audio', payload: new Uint8Array(4) }, writers)).toEqual(['audio:4']);
    expect(encodeStreamCommand({ type: 'audio', payload: new Uint8Array(0) }, writers)).toEqual([]);
    expect(encodeStreamCommand({ type: 'mark', name: 'm' }, writers)).toEqual(['mark:m']);
    expect(encodeStreamCommand({ type: 'clear' }, writers)).toEqual(['clear']);
    expect(encodeStreamCommand({ type: 'hangup' }, writers)).toEqual([]);
  });

  it('writes DTMF only with a dtmf writer', () => {
    expect(encodeStreamCommand({ type: 'dtmf', digits: '12' }, writers)).toEqual([]);
    const withDtmf: StreamCommandWriters = { ...writers, dtmf: (digits) => [...digits].map((d) => `dtmf:${d}`) };
    expect(encodeStreamCommand({ type: 'dtmf', digits: '12' }, withDtmf)).toEqual(['dtmf:1', 'dtmf:2']);
  });
});

describe('simulator checks of outbound frames', () => {
  it('requires exact fields', () => {
    expect(() => checkExactKeys({ event: 'x', id: 'S' }, ['event'], ['id'], 'the frame', '', fail)).not.toThrow();
    expect(
      protocolError(() => checkExactKeys({ event: 'x', extra: 1 }, ['event'], [], 'the frame', '', fail)).message,
    ).toBe('[acme] unexpected field "extra" in the frame');
    expect(protocolError(() => checkExactKeys({}, ['event'], [], 'media', '', fail)).message).toBe(
      '[acme] missing field "event" in media',
    );
  });

  it('reads media holding only a base64 payload', () => {
    expect(readOutboundMedia(object('{"media":{"payload":"AQI="}}'), '', fail)).toEqual(new Uint8Array([1, 2]));
    const bad: Array<[string, string]> = [
      ['{"media":1}', 'media is not an object'],
      ['{"media":{"payload":"AQI=","track":"x"}}', 'unexpected field "track" in media'],
      ['{"media":{"payload":5}}', 'media.payload is not a string'],
      ['{"media":{"payload":"@@"}}', 'media.payload is not valid base64'],
    ];
    for (const [frame, message] of bad)
      expect(protocolError(() => readOutboundMedia(object(frame), frame, fail)).message).toBe(`[acme] ${message}`);
  });

  it('reads a mark name, refusing an empty one only when asked', () => {
    const empty = object('{"mark":{"name":""}}');
    expect(readOutboundMark(empty, '', fail, { nonEmpty: false })).toBe('');
    expect(protocolError(() => readOutboundMark(empty, '', fail, { nonEmpty: true })).message).toBe(
      '[acme] mark.name is not a non-empty string',
    );
    expect(
      protocolError(() => readOutboundMark(object('{"mark":{"name":1}}'), '', fail, { nonEmpty: false })).message,
    ).toBe('[acme] mark.name is not a string');
    expect(protocolError(() => readOutboundMark(object('{"mark":[]}'), '', fail, { nonEmpty: true })).message).toBe(
      '[acme] mark is not an object',
    );
  });

  it('checks the stream id against the active stream', () => {
    expect(() => checkOutboundStreamId({ sid: 'S' }, 'sid', 'S', '', fail)).not.toThrow();
    expect(() => checkOutboundStreamId({}, 'sid', 'S', '', fail, { required: false })).not.toThrow();
    expect(protocolError(() => checkOutboundStreamId({}, 'sid', 'S', '', fail)).message).toBe(
      '[acme] sid is not a string',
    );
    expect(protocolError(() => checkOutboundStreamId({ sid: 'S' }, 'sid', undefined, '', fail)).message).toBe(
      '[acme] no stream is active yet (no start was sent)',
    );
    expect(protocolError(() => checkOutboundStreamId({ sid: 'T' }, 'sid', 'S', '', fail)).message).toBe(
      '[acme] sid does not match the active stream',
    );
  });

  it('names the events a carrier takes when refusing another', () => {
    expect(protocolError(() => rejectOutboundEvent('dtmf', 'media and clear', '', fail)).message).toBe(
      '[acme] unsupported event "dtmf" (only media and clear)',
    );
    expect(protocolError(() => rejectOutboundEvent(undefined, 'media and clear', '', fail)).message).toBe(
      '[acme] frame has no string "event" field',
    );
  });
});

describe('takeCarrierSocket', () => {
  it('splits the socket from the other options', () => {
    const socket = { send() {} };
    const { socket: taken, rest } = takeCarrierSocket(
      { acmeWebSocket: socket, model: 'm' },
      'acmeWebSocket',
      'needs acmeWebSocket',
    );
    expect(taken).toBe(socket);
    expect(rest).toEqual({ model: 'm' });
  });

  it('throws a ConfigError without options or socket', () => {
    expect(() => takeCarrierSocket({ acmeWebSocket: undefined }, 'acmeWebSocket', 'needs acmeWebSocket')).toThrow(
      ConfigError,
    );
    expect(() =>
      takeCarrierSocket(undefined as unknown as { acmeWebSocket: object }, 'acmeWebSocket', 'needs acmeWebSocket'),
    ).toThrow(/needs acmeWebSocket/);
  });
});
