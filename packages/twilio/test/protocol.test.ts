import { Buffer } from 'node:buffer';
import { expectProtocolError, malformedFrameCases, type MalformedFrame } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { TwilioMediaStreamProtocol } from '../src/protocol.js';
import { TwilioPeerSimulator } from '../src/peer.js';

const STREAM = 'MZ18ad3ab5a668481ce02b83e7395059f0';
const STREAM_2 = 'MZ0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const CALL = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';

/** 160 bytes of a μ-law tone-like pattern: a 20 ms frame of non-silent audio. */
function mulawFrame(seed = 0): Uint8Array {
  const bytes = new Uint8Array(160);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.round(Math.sin((i + seed) / 3) * 60) + 128) & 0xff;
  return bytes;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function startFrame(overrides: Record<string, unknown> = {}, startOverrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    start: {
      accountSid: ACCOUNT,
      streamSid: STREAM,
      callSid: CALL,
      tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters: { FirstName: 'Jane', LastName: 'Doe', RemoteParty: 'Bob' },
      ...startOverrides,
    },
    streamSid: STREAM,
    ...overrides,
  });
}

function started(): TwilioMediaStreamProtocol {
  const protocol = new TwilioMediaStreamProtocol();
  protocol.decode(startFrame());
  return protocol;
}

describe('TwilioMediaStreamProtocol.decode', () => {
  it('declares mark acknowledgements, echo of pending marks on clear and a μ-law 8 kHz default', () => {
    const protocol = new TwilioMediaStreamProtocol();
    expect(protocol.name).toBe('twilio');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'mark',
      ackOnClear: 'echo-pending',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: 20 },
    });
    expect(protocol.defaultFormat).toEqual({ encoding: 'pcmu', sampleRate: 8000, channels: 1 });
  });

  it('ignores the connected message', () => {
    const protocol = new TwilioMediaStreamProtocol();
    expect(protocol.decode('{"event":"connected","protocol":"Call","version":"1.0.0"}')).toEqual([]);
    expect(protocol.streamSid).toBeUndefined();
  });

  it('turns start into call_start with call sid, stream sid, μ-law format and custom parameters', () => {
    const protocol = new TwilioMediaStreamProtocol();
    const frame = startFrame();
    const events = protocol.decode(frame);
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toEqual({
      type: 'call_start',
      callId: CALL,
      streamId: STREAM,
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: { FirstName: 'Jane', LastName: 'Doe', RemoteParty: 'Bob' },
      raw: JSON.parse(frame),
    });
    expect(Object.keys(event)).not.toContain('from');
    expect(Object.keys(event)).not.toContain('to');
    expect(protocol.streamSid).toBe(STREAM);
  });

  it('reads the stream sid from the top level when start has none', () => {
    const protocol = new TwilioMediaStreamProtocol();
    const [event] = protocol.decode(startFrame({}, { streamSid: undefined }));
    expect(event).toMatchObject({ type: 'call_start', streamId: STREAM });
  });

  it('assumes μ-law 8 kHz when start has no mediaFormat', () => {
    const [event] = new TwilioMediaStreamProtocol().decode(startFrame({}, { mediaFormat: undefined }));
    expect(event).toMatchObject({ format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 } });
  });

  it('decodes SignalWire L16 16 kHz and 24 kHz starts and A-law', () => {
    const protocol = new TwilioMediaStreamProtocol();
    const l16 = protocol.decode(
      startFrame({}, { mediaFormat: { encoding: 'audio/L16', sampleRate: 16000, channels: 1 } }),
    );
    expect(l16[0]).toMatchObject({ format: { encoding: 'l16', sampleRate: 16000, channels: 1 } });
    const l16x = protocol.decode(
      startFrame({}, { mediaFormat: { encoding: 'AUDIO/X-L16', sampleRate: 24000, channels: 1 } }),
    );
    expect(l16x[0]).toMatchObject({ format: { encoding: 'l16', sampleRate: 24000 } });
    const alaw = protocol.decode(
      startFrame({}, { mediaFormat: { encoding: 'audio/x-alaw', sampleRate: 8000, channels: 1 } }),
    );
    expect(alaw[0]).toMatchObject({ format: { encoding: 'pcma', sampleRate: 8000 } });
  });

  it('keeps from and to when a dialect puts them in start', () => {
    const [event] = new TwilioMediaStreamProtocol().decode(
      startFrame({}, { from: '+15551230001', to: '+15551230002' }),
    );
    expect(event).toMatchObject({ from: '+15551230001', to: '+15551230002' });
  });

  it('coerces custom parameter values to strings and defaults them to an empty object', () => {
    const protocol = new TwilioMediaStreamProtocol();
    const [withValues] = protocol.decode(startFrame({}, { customParameters: { tier: 3, vip: true, note: null } }));
    expect(withValues).toMatchObject({ customParameters: { tier: '3', vip: 'true', note: '' } });
    const [without] = protocol.decode(startFrame({}, { customParameters: undefined }));
    expect(without).toMatchObject({ customParameters: {} });
  });

  it('accepts a second start mid-stream and sends later frames to the new stream', () => {
    const protocol = started();
    const events = protocol.decode(startFrame({ streamSid: STREAM_2 }, { streamSid: STREAM_2 }));
    expect(events).toEqual([expect.objectContaining({ type: 'call_start', streamId: STREAM_2 })]);
    expect(protocol.streamSid).toBe(STREAM_2);
    expect(JSON.parse(protocol.encode({ type: 'clear' })[0] as string)).toEqual({
      event: 'clear',
      streamSid: STREAM_2,
    });
  });

  it('decodes media with string counters into audio with sequence and timestamp', () => {
    const audio = mulawFrame();
    const frame = `{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"25","payload":"${b64(audio)}"},"streamSid":"${STREAM}"}`;
    const events = started().decode(frame);
    expect(events).toEqual([
      { type: 'audio', payload: audio, payloadBase64: b64(audio), sequence: 2, timestampMs: 25 },
    ]);
    expect(events[0]).toMatchObject({ payload: expect.any(Uint8Array) });
  });

  it('accepts numeric counters and leaves out counters that are not integers', () => {
    const protocol = started();
    const payload = b64(mulawFrame(1));
    const numeric = protocol.decode(JSON.stringify({ event: 'media', media: { chunk: 7, timestamp: 140, payload } }));
    expect(numeric[0]).toMatchObject({ sequence: 7, timestampMs: 140 });
    const odd = protocol.decode(JSON.stringify({ event: 'media', media: { chunk: 'x', timestamp: '1.5', payload } }));
    expect(odd[0]).not.toHaveProperty('sequence');
    expect(odd[0]).not.toHaveProperty('timestampMs');
  });

  it('ignores media on the outbound track', () => {
    const frame = JSON.stringify({
      event: 'media',
      sequenceNumber: '3',
      media: { track: 'outbound', chunk: '1', timestamp: '5', payload: b64(mulawFrame()) },
      streamSid: STREAM,
    });
    expect(started().decode(frame)).toEqual([]);
  });

  it('decodes dtmf, mark echoes and stop', () => {
    const protocol = started();
    expect(
      protocol.decode(
        `{"event":"dtmf","streamSid":"${STREAM}","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"#"}}`,
      ),
    ).toEqual([{ type: 'dtmf', digit: '#' }]);
    expect(
      protocol.decode(
        `{"event":"mark","sequenceNumber":"4","streamSid":"${STREAM}","mark":{"name":"item_abc:320:g1:m4"}}`,
      ),
    ).toEqual([{ type: 'playback_ack', name: 'item_abc:320:g1:m4' }]);
    expect(
      protocol.decode(
        `{"event":"stop","sequenceNumber":"9","streamSid":"${STREAM}","stop":{"accountSid":"${ACCOUNT}","callSid":"${CALL}"}}`,
      ),
    ).toEqual([{ type: 'call_end', reason: 'stop' }]);
  });

  it('ignores event types it does not know', () => {
    expect(started().decode(`{"event":"transcription","streamSid":"${STREAM}","text":"hi"}`)).toEqual([]);
  });

  const longPayload = b64(mulawFrame(5));
  const malformed: MalformedFrame[] = [
    ['a binary frame', new Uint8Array([1, 2, 3])],
    ['text that is not JSON', `{"event":"media","media":{"payload":"${longPayload}"`],
    ['a JSON array', '[1,2,3]'],
    ['JSON null', 'null'],
    ['a message without event', `{"streamSid":"${STREAM}"}`],
    ['a message with a numeric event', '{"event":7}'],
    ['media without a media object', `{"event":"media","streamSid":"${STREAM}"}`],
    ['media without a payload', `{"event":"media","media":{"track":"inbound","chunk":"1"}}`],
    ['media with a numeric payload', '{"event":"media","media":{"payload":12345}}'],
    ['media with invalid base64', `{"event":"media","media":{"payload":"%%%%${longPayload}"}}`],
    ['dtmf without a digit', `{"event":"dtmf","dtmf":{"track":"inbound_track"}}`],
    ['dtmf without a dtmf object', '{"event":"dtmf"}'],
    ['mark without a name', `{"event":"mark","mark":{}}`],
    ['start without any stream sid', '{"event":"start","start":{"callSid":"CA1"}}'],
    ['start with a non-object start', `{"event":"start","start":"x","streamSid":"${STREAM}"}`],
    [
      'start with an unknown encoding',
      startFrame({}, { mediaFormat: { encoding: 'audio/opus', sampleRate: 48000, channels: 1 } }),
    ],
    [
      'start with L16 at an unsupported rate',
      startFrame({}, { mediaFormat: { encoding: 'audio/l16', sampleRate: 44100, channels: 1 } }),
    ],
    [
      'start with stereo audio',
      startFrame({}, { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 2 } }),
    ],
  ];

  // The provider and the "[twilio] " prefix are checked; neither the message nor the excerpt
  // carries the payload or its first 24 characters.
  it.each(
    malformedFrameCases({
      provider: 'twilio',
      frames: malformed,
      secrets: [longPayload, longPayload.slice(0, 24)],
      decode: (frame) => started().decode(frame),
    }),
  )('throws a twilio ProtocolError for %s, without the payload in the message', (_label, check) => {
    check();
  });

  it('keeps decoding after a malformed frame', () => {
    const protocol = started();
    expect(() => protocol.decode('not json')).toThrow(ProtocolError);
    expect(protocol.decode(`{"event":"mark","mark":{"name":"after"}}`)).toEqual([
      { type: 'playback_ack', name: 'after' },
    ]);
  });
});

describe('TwilioMediaStreamProtocol.rawMessage', () => {
  it('returns the object parsed by the last decode of the same frame', () => {
    const protocol = new TwilioMediaStreamProtocol();
    const frame = startFrame();
    const [event] = protocol.decode(frame);
    const raw = protocol.rawMessage(frame);
    expect(raw).toBe((event as Extract<CallEvent, { type: 'call_start' }>).raw);
  });

  it('parses a frame other than the last one decoded', () => {
    const protocol = started();
    const other = '{"event":"mark","mark":{"name":"m1"}}';
    expect(protocol.rawMessage(other)).toEqual({ event: 'mark', mark: { name: 'm1' } });
  });

  it('returns text that is not JSON, and binary frames, unchanged', () => {
    const protocol = new TwilioMediaStreamProtocol();
    expect(protocol.rawMessage('hello')).toBe('hello');
    expect(() => protocol.decode('hello')).toThrow(ProtocolError);
    expect(protocol.rawMessage('hello')).toBe('hello');
    const binary = new Uint8Array([9]);
    expect(protocol.rawMessage(binary)).toBe(binary);
  });
});

describe('TwilioMediaStreamProtocol.encode', () => {
  it('refuses media, mark and clear before the stream started', () => {
    const protocol = new TwilioMediaStreamProtocol();
    for (const command of [
      { type: 'audio', payload: mulawFrame() },
      { type: 'mark', name: 'm' },
      { type: 'clear' },
    ] satisfies OutboundCommand[]) {
      expectProtocolError(() => protocol.encode(command), { provider: 'twilio' });
    }
  });

  it('encodes audio as a media message with only streamSid and payload', () => {
    const audio = mulawFrame(3);
    const frames = started().encode({ type: 'audio', payload: audio });
    expect(frames).toHaveLength(1);
    expect(typeof frames[0]).toBe('string');
    const message = JSON.parse(frames[0] as string);
    expect(Object.keys(message)).toEqual(['event', 'streamSid', 'media']);
    expect(Object.keys(message.media)).toEqual(['payload']);
    expect(message).toEqual({ event: 'media', streamSid: STREAM, media: { payload: b64(audio) } });
  });

  it('encodes a mark with its exact name, quotes and non-ASCII included', () => {
    const name = 'item "α":320\\g1:m4';
    const frames = started().encode({ type: 'mark', name });
    const message = JSON.parse(frames[0] as string);
    expect(Object.keys(message)).toEqual(['event', 'streamSid', 'mark']);
    expect(Object.keys(message.mark)).toEqual(['name']);
    expect(message).toEqual({ event: 'mark', streamSid: STREAM, mark: { name } });
  });

  it('encodes clear with only event and streamSid', () => {
    const frames = started().encode({ type: 'clear' });
    expect(frames).toEqual([`{"event":"clear","streamSid":"${STREAM}"}`]);
  });

  it('encodes nothing for hang-up, DTMF and empty audio', () => {
    const protocol = started();
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '12#' })).toEqual([]);
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(0) })).toEqual([]);
  });
});

describe('TwilioPeerSimulator', () => {
  const callStart = (streamId = STREAM): Extract<CallEvent, { type: 'call_start' }> => ({
    type: 'call_start',
    callId: CALL,
    streamId,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: { FirstName: 'Jane' },
    raw: undefined,
  });

  it('sends connected before the first start, then counts every message as a string sequenceNumber', () => {
    const peer = new TwilioPeerSimulator({ accountSid: ACCOUNT });
    const first = peer.encodeInbound(callStart()).map((f) => JSON.parse(f as string));
    expect(first).toHaveLength(2);
    expect(first[0]).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(first[1]).toEqual({
      event: 'start',
      sequenceNumber: '1',
      start: {
        accountSid: ACCOUNT,
        streamSid: STREAM,
        callSid: CALL,
        tracks: ['inbound'],
        customParameters: { FirstName: 'Jane' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
      streamSid: STREAM,
    });
    const media = peer.encodeInbound({ type: 'audio', payload: mulawFrame() }).map((f) => JSON.parse(f as string));
    expect(media).toHaveLength(1);
    expect(media[0]).toMatchObject({
      event: 'media',
      sequenceNumber: '2',
      media: { track: 'inbound', chunk: '1', timestamp: '0' },
    });
    const again = peer.encodeInbound(callStart(STREAM_2)).map((f) => JSON.parse(f as string));
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ event: 'start', sequenceNumber: '3', streamSid: STREAM_2 });
  });

  it('advances the media clock by 20 ms per 160 μ-law bytes unless the event carries a timestamp', () => {
    const peer = new TwilioPeerSimulator();
    peer.encodeInbound(callStart());
    const stamps = [
      peer.encodeInbound({ type: 'audio', payload: mulawFrame() }),
      peer.encodeInbound({ type: 'audio', payload: mulawFrame() }),
      peer.encodeInbound({ type: 'audio', payload: mulawFrame(), timestampMs: 100 }),
      peer.encodeInbound({ type: 'audio', payload: mulawFrame() }),
    ].map((frames) => JSON.parse(frames[0] as string).media);
    expect(stamps.map((m) => m.timestamp)).toEqual(['0', '20', '100', '120']);
    expect(stamps.map((m) => m.chunk)).toEqual(['1', '2', '3', '4']);
  });

  it('generates sids in Twilio shapes when none are given', () => {
    const peer = new TwilioPeerSimulator();
    const frames = peer.encodeInbound({ ...callStart(''), callId: undefined });
    const start = JSON.parse(frames[1] as string).start;
    expect(start.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(start.callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(start.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(peer.streamSid).toBe(start.streamSid);
  });

  it('round-trips call events through the protocol decoder', () => {
    const peer = new TwilioPeerSimulator({ accountSid: ACCOUNT });
    const protocol = new TwilioMediaStreamProtocol();
    const events: CallEvent[] = [
      callStart(),
      { type: 'audio', payload: mulawFrame(1), payloadBase64: b64(mulawFrame(1)), sequence: 1, timestampMs: 0 },
      { type: 'audio', payload: mulawFrame(2), payloadBase64: b64(mulawFrame(2)), sequence: 2, timestampMs: 20 },
      { type: 'dtmf', digit: '7' },
      { type: 'playback_ack', name: 'resp_1:item_1:40:g1:m1' },
      { type: 'audio', payload: mulawFrame(3), payloadBase64: b64(mulawFrame(3)), sequence: 3, timestampMs: 40 },
      { type: 'call_end', reason: 'stop' },
    ];
    const decoded = events.flatMap((event) => peer.encodeInbound(event).flatMap((frame) => protocol.decode(frame)));
    expect(decoded).toHaveLength(events.length);
    expect(decoded[0]).toMatchObject({ ...callStart(), raw: expect.objectContaining({ event: 'start' }) });
    expect(decoded.slice(1)).toEqual(events.slice(1));
    const stop = JSON.parse(peer.encodeInbound({ type: 'call_end' })[0] as string);
    expect(stop.stop).toEqual({ accountSid: ACCOUNT, callSid: CALL });
  });

  it('imitates SignalWire L16 16 kHz streams with an explicit mediaFormat', () => {
    const peer = new TwilioPeerSimulator({ mediaFormat: { encoding: 'audio/L16', sampleRate: 16000, channels: 1 } });
    const protocol = new TwilioMediaStreamProtocol();
    const frames = peer.encodeInbound({ ...callStart(), format: { encoding: 'l16', sampleRate: 16000, channels: 1 } });
    const [event] = frames.flatMap((f) => protocol.decode(f));
    expect(event).toMatchObject({ type: 'call_start', format: { encoding: 'l16', sampleRate: 16000, channels: 1 } });
    // 640 bytes of L16 at 16 kHz are 20 ms.
    peer.encodeInbound({ type: 'audio', payload: new Uint8Array(640) });
    const next = JSON.parse(peer.encodeInbound({ type: 'audio', payload: new Uint8Array(640) })[0] as string);
    expect(next.media.timestamp).toBe('20');
  });

  it('accepts every command the protocol encodes and gives it back', () => {
    const peer = new TwilioPeerSimulator();
    const protocol = new TwilioMediaStreamProtocol();
    peer.encodeInbound(callStart()).forEach((frame) => protocol.decode(frame));
    const commands: OutboundCommand[] = [
      { type: 'audio', payload: mulawFrame(9) },
      { type: 'mark', name: 'resp_1:item_1:20:g1:m1' },
      { type: 'clear' },
    ];
    for (const command of commands) {
      const back = protocol.encode(command).flatMap((frame) => peer.decodeOutbound(frame));
      expect(back).toEqual([command]);
    }
  });

  describe('rejects what Twilio would flag with warning 31951', () => {
    const peerWithStream = () => {
      const peer = new TwilioPeerSimulator();
      peer.encodeInbound(callStart());
      return peer;
    };
    const payload = b64(mulawFrame());
    const invalidFrames: Array<[string, string]> = [
      ['text that is not JSON', '{"event":"clear",'],
      ['a JSON array', '[]'],
      ['an event Twilio does not accept', `{"event":"dtmf","streamSid":"${STREAM}","dtmf":{"digit":"1"}}`],
      ['a message without event', `{"streamSid":"${STREAM}"}`],
      [
        'media with a sequenceNumber',
        `{"event":"media","streamSid":"${STREAM}","sequenceNumber":"3","media":{"payload":"${payload}"}}`,
      ],
      [
        'media with a track',
        `{"event":"media","streamSid":"${STREAM}","media":{"payload":"${payload}","track":"outbound"}}`,
      ],
      ['media without payload', `{"event":"media","streamSid":"${STREAM}","media":{}}`],
      ['media with invalid base64', `{"event":"media","streamSid":"${STREAM}","media":{"payload":"@@@"}}`],
      ['a mark with an extra field', `{"event":"mark","streamSid":"${STREAM}","mark":{"name":"m","at":1}}`],
      ['a mark with a numeric name', `{"event":"mark","streamSid":"${STREAM}","mark":{"name":5}}`],
      ['clear with an extra field', `{"event":"clear","streamSid":"${STREAM}","reason":"barge-in"}`],
      ['clear without streamSid', '{"event":"clear"}'],
      ['a frame for another stream', `{"event":"clear","streamSid":"${STREAM_2}"}`],
    ];

    it.each(invalidFrames)('%s', (_label, frame) => {
      const error = expectProtocolError(() => peerWithStream().decodeOutbound(frame), { code: 'twilio_31951' });
      expect(error.message).not.toContain(payload);
    });

    it('frames sent before any stream started', () => {
      expectProtocolError(() => new TwilioPeerSimulator().decodeOutbound(`{"event":"clear","streamSid":"${STREAM}"}`), {
        code: 'twilio_31951',
      });
    });

    it('binary frames, as warning 31950', () => {
      expectProtocolError(() => peerWithStream().decodeOutbound(new Uint8Array([0xff, 0x7f])), {
        code: 'twilio_31950',
      });
    });
  });
});
