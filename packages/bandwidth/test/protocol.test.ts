import { describe, expect, it } from 'vitest';
import { ConfigError, ProtocolError, base64Encode, type CallEvent } from '@switchboard/core';
import {
  BANDWIDTH_UNSUPPORTED_FORMAT_CODE,
  BandwidthMediaStreamProtocol,
  type BandwidthProtocolOptions,
} from '../src/index.js';
import { BandwidthPeerSimulator } from '../src/testing.js';

/** A `start` as the StartStream page describes it, with both tracks and two stream params. */
const START = JSON.stringify({
  eventType: 'start',
  metadata: {
    accountId: '5555555',
    callId: 'c-2a913f94-6a486f3a-3cae-4034-bcc3-f0c9fa77ca2f',
    streamId: 's-2a913f94-93e8-4b06-8d54-1b4c3d5c8f3a',
    streamName: 'agent',
    tracks: [
      { name: 'inbound', mediaFormat: { encoding: 'audio/PCMU', sampleRate: 8000 } },
      { name: 'outbound', mediaFormat: { encoding: 'audio/PCMU', sampleRate: 8000 } },
    ],
  },
  streamParams: { internal_id: 'call_ABC', lang: 'en' },
});

const media = (track: string | undefined, bytes: Uint8Array, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    eventType: 'media',
    ...(track === undefined ? {} : { track }),
    ...extra,
    payload: base64Encode(bytes),
  });

function refusal(decode: () => unknown): ProtocolError {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('the frame was not refused');
}

describe('BandwidthMediaStreamProtocol decode', () => {
  it('reads start into call_start: stream and call ids, μ-law 8 kHz, stream params as custom parameters', () => {
    const [event] = new BandwidthMediaStreamProtocol().decode(START);
    expect(event).toEqual({
      type: 'call_start',
      streamId: 's-2a913f94-93e8-4b06-8d54-1b4c3d5c8f3a',
      callId: 'c-2a913f94-6a486f3a-3cae-4034-bcc3-f0c9fa77ca2f',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: { internal_id: 'call_ABC', lang: 'en' },
      raw: JSON.parse(START),
    });
    expect(event).not.toHaveProperty('from');
  });

  it('reads a start without tracks or stream params as μ-law 8 kHz with no custom parameters', () => {
    const [event] = new BandwidthMediaStreamProtocol().decode(
      '{"eventType":"start","metadata":{"callId":"c-1","streamId":"s-1"}}',
    );
    expect(event).toMatchObject({ type: 'call_start', streamId: 's-1', callId: 'c-1', customParameters: {} });
  });

  it('passes on the caller’s track and leaves out the outbound track (the agent’s own voice)', () => {
    const protocol = new BandwidthMediaStreamProtocol();
    protocol.decode(START);
    const caller = Uint8Array.of(1, 2, 3, 4);
    expect(protocol.decode(media('inbound', caller))).toEqual([{ type: 'audio', payload: caller }]);
    expect(protocol.decode(media('outbound', Uint8Array.of(9, 9)))).toEqual([]);
    // A media frame naming no track is the caller's.
    expect(protocol.decode(media(undefined, caller))).toEqual([{ type: 'audio', payload: caller }]);
  });

  it('takes another track as the caller when told to', () => {
    const protocol = new BandwidthMediaStreamProtocol({ track: 'outbound' });
    expect(protocol.decode(media('inbound', Uint8Array.of(1)))).toEqual([]);
    expect(protocol.decode(media('outbound', Uint8Array.of(2)))).toHaveLength(1);
  });

  it('ignores sequenceNumber unless asked to read it, in either of its spellings', () => {
    const bytes = Uint8Array.of(7, 7);
    expect(new BandwidthMediaStreamProtocol().decode(media('inbound', bytes, { sequenceNumber: 5 }))).toEqual([
      { type: 'audio', payload: bytes },
    ]);
    const reading = new BandwidthMediaStreamProtocol({ readSequenceNumbers: true });
    expect(reading.decode(media('inbound', bytes, { sequenceNumber: 5 }))).toEqual([
      { type: 'audio', payload: bytes, sequence: 5 },
    ]);
    expect(reading.decode(media('inbound', bytes, { sequenceNumber: '6' }))).toEqual([
      { type: 'audio', payload: bytes, sequence: 6 },
    ]);
  });

  it('reads stop as call_end and passes over events it does not know', () => {
    const protocol = new BandwidthMediaStreamProtocol();
    expect(protocol.decode('{"eventType":"stop","metadata":{"streamId":"s-1"}}')).toEqual([
      { type: 'call_end', reason: 'stop' },
    ]);
    expect(protocol.decode('{"eventType":"transcription","text":"hi"}')).toEqual([]);
  });

  it('keeps the parsed frame for the raw bandwidth_message event', () => {
    const protocol = new BandwidthMediaStreamProtocol();
    protocol.decode(START);
    expect(protocol.rawMessage(START)).toEqual(JSON.parse(START));
    expect(protocol.rawMessage('not json')).toBe('not json');
  });

  it.each<[string, string | Uint8Array, RegExp]>([
    ['malformed JSON', '{"eventType":"media",', /not valid JSON/],
    ['JSON that is not an object', '["media"]', /not a JSON object/],
    ['a frame without eventType', '{"event":"media","payload":"/w=="}', /no string "eventType"/],
    ['an eventType that is not a string', '{"eventType":7}', /no string "eventType"/],
    ['a binary frame', Uint8Array.of(0x7b, 0x7d), /binary frame/],
    ['media whose payload is not base64', '{"eventType":"media","track":"inbound","payload":"%%%"}', /base64/],
    ['media without a payload', '{"eventType":"media","track":"inbound"}', /without a string payload/],
    ['media whose payload is a number', '{"eventType":"media","payload":12}', /without a string payload/],
    ['media whose track is not a string', '{"eventType":"media","track":1,"payload":"/w=="}', /non-string track/],
    ['start without metadata', '{"eventType":"start"}', /without a metadata object/],
    ['start whose metadata is a string', '{"eventType":"start","metadata":"s-1"}', /without a metadata object/],
    ['start without a stream id', '{"eventType":"start","metadata":{"callId":"c"}}', /metadata.streamId/],
    [
      'start with a numeric stream id',
      '{"eventType":"start","metadata":{"streamId":5}}',
      /non-string metadata.streamId/,
    ],
    [
      'start with tracks that are not a list',
      '{"eventType":"start","metadata":{"streamId":"s","tracks":{}}}',
      /not a list/,
    ],
    [
      'start with stream params that are not an object',
      '{"eventType":"start","metadata":{"streamId":"s"},"streamParams":["a"]}',
      /streamParams/,
    ],
  ])('refuses %s with a ProtocolError', (_title, frame, message) => {
    const error = refusal(() => new BandwidthMediaStreamProtocol().decode(frame));
    expect(error.message).toMatch(message);
  });

  it.each([
    ['a codec other than PCMU', { encoding: 'audio/L16', sampleRate: 8000 }, /audio\/L16/],
    ['a rate other than 8 kHz', { encoding: 'audio/PCMU', sampleRate: 16000 }, /sampleRate 16000/],
  ])('refuses a start with %s, with code bandwidth_unsupported_format', (_title, mediaFormat, message) => {
    const frame = JSON.stringify({
      eventType: 'start',
      metadata: { streamId: 's-1', tracks: [{ name: 'inbound', mediaFormat }] },
    });
    const error = refusal(() => new BandwidthMediaStreamProtocol().decode(frame));
    expect(error.code).toBe(BANDWIDTH_UNSUPPORTED_FORMAT_CODE);
    expect(error.message).toMatch(message);
  });

  it('refuses, unparsed, a text frame over the 1 MiB limit', () => {
    const frame = `{"eventType":"media","payload":"${'A'.repeat(1024 * 1024)}"}`;
    expect(refusal(() => new BandwidthMediaStreamProtocol().decode(frame)).message).toMatch(/longer than/);
  });

  it('goes on decoding after a refused frame', () => {
    const protocol = new BandwidthMediaStreamProtocol();
    protocol.decode(START);
    refusal(() => protocol.decode('{oops'));
    expect(protocol.decode(media('inbound', Uint8Array.of(1)))).toHaveLength(1);
  });
});

describe('BandwidthMediaStreamProtocol encode', () => {
  const protocol = new BandwidthMediaStreamProtocol();

  it('writes audio as playAudio with contentType audio/pcmu, and clear as a bare clear', () => {
    const bytes = Uint8Array.of(0xff, 0x7f, 0x00);
    expect(protocol.encode({ type: 'audio', payload: bytes })).toEqual([
      `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"${base64Encode(bytes)}"}}`,
    ]);
    expect(protocol.encode({ type: 'clear' })).toEqual(['{"eventType":"clear"}']);
  });

  it('writes nothing for empty audio, marks, DTMF or a hang-up (none of them exists on the stream)', () => {
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(0) })).toEqual([]);
    expect(protocol.encode({ type: 'mark', name: 'm1' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '12' })).toEqual([]);
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
  });

  it('writes frames Bandwidth’s side accepts', () => {
    const peer = new BandwidthPeerSimulator();
    const bytes = new Uint8Array(320).fill(0x55);
    const [frame] = protocol.encode({ type: 'audio', payload: bytes });
    expect(peer.decodeOutbound(frame!)).toEqual([{ type: 'audio', payload: bytes }]);
    expect(peer.decodeOutbound(protocol.encode({ type: 'clear' })[0]!)).toEqual([{ type: 'clear' }]);
  });
});

describe('BandwidthMediaStreamProtocol capabilities and options', () => {
  it('declares no acknowledgements, a confirmation-less clear, no DTMF, 20 ms framing and 1 s of lead', () => {
    expect(new BandwidthMediaStreamProtocol().capabilities).toEqual({
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: false,
      dtmfOut: false,
      frame: { ms: 20 },
      pacing: { leadMs: 1000 },
    });
    expect(new BandwidthMediaStreamProtocol().defaultFormat).toEqual({
      encoding: 'pcmu',
      sampleRate: 8000,
      channels: 1,
    });
  });

  it('takes leadMs and frameMs, and sends unpaced with leadMs null', () => {
    const caps = new BandwidthMediaStreamProtocol({ leadMs: 400, frameMs: 40 }).capabilities;
    expect(caps.pacing).toEqual({ leadMs: 400 });
    expect(caps.frame).toEqual({ ms: 40 });
    expect(new BandwidthMediaStreamProtocol({ leadMs: null }).capabilities.pacing).toBeUndefined();
  });

  it.each<[string, BandwidthProtocolOptions]>([
    ['an empty track', { track: '' }],
    ['a negative leadMs', { leadMs: -1 }],
    ['a leadMs that is not a number', { leadMs: '500' as unknown as number }],
    ['a fractional frameMs', { frameMs: 2.5 }],
    ['a frameMs of zero', { frameMs: 0 }],
  ])('refuses %s with a ConfigError', (_title, options) => {
    expect(() => new BandwidthMediaStreamProtocol(options)).toThrow(ConfigError);
  });
});

describe('round trip through the peer simulator', () => {
  it('decodes what the peer sends into the events it was given', () => {
    const peer = new BandwidthPeerSimulator({ tracks: 'both' });
    const protocol = new BandwidthMediaStreamProtocol();
    const start: CallEvent = {
      type: 'call_start',
      streamId: 's-9',
      callId: 'c-9',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: { a: '1' },
      raw: null,
    };
    const audio = new Uint8Array(160).fill(0x42);
    const events = [start, { type: 'audio', payload: audio } as CallEvent, { type: 'call_end' } as CallEvent]
      .flatMap((e) => peer.encodeInbound(e))
      .flatMap((f) => protocol.decode(f));
    expect(events.map((e) => e.type)).toEqual(['call_start', 'audio', 'call_end']);
    expect(events[0]).toMatchObject({ streamId: 's-9', callId: 'c-9', customParameters: { a: '1' } });
    expect(events[1]).toEqual({ type: 'audio', payload: audio });
  });
});
