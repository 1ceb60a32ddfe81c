import { Buffer } from 'node:buffer';
import { expectProtocolError, malformedFrameCases, type MalformedFrame } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { PlivoMediaStreamProtocol, parseExtraHeaders } from '../src/protocol.js';
import { PLIVO_INVALID_FRAME_CODE, PlivoPeerSimulator } from '../src/peer.js';

/**
 * The start message of Plivo's documentation, field for field:
 * https://plivo.com/docs/voice/audio-streaming/audio-streaming ("start").
 */
const DOCS_START = {
  event: 'start',
  sequenceNumber: 1,
  start: {
    callId: '12345678-1234-1234-1234-123456789abc',
    streamId: '87654321-4321-4321-4321-cba987654321',
    accountId: 'MAXXXXXXXXXXXXXXXXXX',
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 },
  },
  extra_headers: 'userId=12345;sessionId=abc-xyz',
};
const STREAM = DOCS_START.start.streamId;
const CALL = DOCS_START.start.callId;

function startFrame(mediaFormat: unknown = DOCS_START.start.mediaFormat, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...DOCS_START, start: { ...DOCS_START.start, mediaFormat }, ...extra });
}

function mulawFrame(seed = 0): Uint8Array {
  const bytes = new Uint8Array(160);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.round(Math.sin((i + seed) / 3) * 60) + 128) & 0xff;
  return bytes;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function started(format?: unknown): PlivoMediaStreamProtocol {
  const protocol = new PlivoMediaStreamProtocol();
  protocol.decode(startFrame(format));
  return protocol;
}

describe('PlivoMediaStreamProtocol.decode', () => {
  it('declares checkpoints confirmed (not echoed) on clear and L16 8 kHz, Plivo’s default, before start', () => {
    const protocol = new PlivoMediaStreamProtocol();
    expect(protocol.name).toBe('plivo');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'mark',
      ackOnClear: 'confirm',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
    });
    expect(protocol.defaultFormat).toEqual({ encoding: 'l16', sampleRate: 8000, channels: 1 });
  });

  it('turns the documented start message into call_start with extra_headers as custom parameters', () => {
    const protocol = new PlivoMediaStreamProtocol();
    expect(protocol.decode(JSON.stringify(DOCS_START))).toEqual([
      {
        type: 'call_start',
        callId: CALL,
        streamId: STREAM,
        format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
        customParameters: { userId: '12345', sessionId: 'abc-xyz' },
        raw: DOCS_START,
      },
    ]);
    expect(protocol.streamId).toBe(STREAM);
  });

  it('reads audio/x-l16 at 8 and 16 kHz, and assumes L16 8 kHz without a mediaFormat', () => {
    expect(
      new PlivoMediaStreamProtocol().decode(startFrame({ encoding: 'audio/x-l16', sampleRate: 16000 }))[0],
    ).toMatchObject({
      format: { encoding: 'l16', sampleRate: 16000 },
    });
    expect(
      new PlivoMediaStreamProtocol().decode(startFrame({ encoding: 'audio/x-l16;rate=8000', sampleRate: '8000' }))[0],
    ).toMatchObject({
      format: { encoding: 'l16', sampleRate: 8000 },
    });
    expect(new PlivoMediaStreamProtocol().decode(startFrame(null))[0]).toMatchObject({
      format: { encoding: 'l16', sampleRate: 8000 },
    });
  });

  it('parses extra_headers separated by ; or , and keeps a key named __proto__ a key', () => {
    expect(parseExtraHeaders('a=1,b=2;c=')).toEqual({ a: '1', b: '2', c: '' });
    expect(parseExtraHeaders({ tier: 3 })).toEqual({ tier: '3' });
    expect(parseExtraHeaders(undefined)).toEqual({});
    const odd = parseExtraHeaders('__proto__=x');
    expect(Object.keys(odd)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
  });

  it('gives media its numeric chunk as sequence and leaves the epoch-ms timestamp out', () => {
    const audio = mulawFrame();
    const frame = JSON.stringify({
      event: 'media',
      sequenceNumber: 42,
      streamId: STREAM,
      media: { track: 'inbound', timestamp: '1705312200000', chunk: 41, payload: b64(audio) },
      extra_headers: DOCS_START.extra_headers,
    });
    expect(started().decode(frame)).toEqual([
      { type: 'audio', payload: audio, payloadBase64: b64(audio), sequence: 41 },
    ]);
  });

  it('decodes dtmf, playedStream and clearedAudio, and ignores what it does not know', () => {
    const protocol = started();
    expect(protocol.decode(`{"event":"dtmf","streamId":"${STREAM}","dtmf":{"digit":"5"}}`)).toEqual([
      { type: 'dtmf', digit: '5' },
    ]);
    expect(protocol.decode(`{"event":"playedStream","streamId":"${STREAM}","name":"customer greeting audio"}`)).toEqual(
      [{ type: 'playback_ack', name: 'customer greeting audio' }],
    );
    expect(protocol.decode(`{"event":"clearedAudio","streamId":"${STREAM}"}`)).toEqual([{ type: 'playback_cleared' }]);
    expect(protocol.decode(`{"event":"media","media":{"track":"outbound","payload":"${b64(mulawFrame())}"}}`)).toEqual(
      [],
    );
    expect(protocol.decode('{"event":"transcript"}')).toEqual([]);
  });

  it('acknowledges a checkpoint named by `played` as well as by `playedStream`', () => {
    // Plivo's checkpoint docs name the acknowledgement `playedStream`, its support FAQ ("How do I
    // know if the buffered audio is played") `played`: either one means the audio before the
    // checkpoint played, and ignoring one of them would leave every checkpoint unacknowledged.
    const protocol = started();
    expect(protocol.decode(`{"event":"played","streamId":"${STREAM}","name":"item_1:320:g1:m4"}`)).toEqual([
      { type: 'playback_ack', name: 'item_1:320:g1:m4' },
    ]);
    expect(
      protocol.decode(`{"event":"playedStream","sequenceNumber":9,"streamId":"${STREAM}","name":"item_1:640:g1:m5"}`),
    ).toEqual([{ type: 'playback_ack', name: 'item_1:640:g1:m5' }]);
  });

  const payload = b64(mulawFrame(5));
  const malformed: MalformedFrame[] = [
    ['a binary frame', new Uint8Array([1])],
    ['text that is not JSON', '{"event":'],
    ['JSON null', 'null'],
    ['a frame without event', `{"streamId":"${STREAM}"}`],
    ['media without a payload', '{"event":"media","media":{"chunk":1}}'],
    ['media with a numeric payload', '{"event":"media","media":{"payload":5}}'],
    ['media with invalid base64', `{"event":"media","media":{"payload":"%%${payload}"}}`],
    ['dtmf without a digit', '{"event":"dtmf","dtmf":{}}'],
    ['playedStream without a name', '{"event":"playedStream","name":7}'],
    ['played without a name', '{"event":"played","streamId":"S"}'],
    ['start without a stream id', JSON.stringify({ event: 'start', start: { callId: CALL } })],
    ['start with a numeric stream id', JSON.stringify({ event: 'start', start: { streamId: 5 } })],
    ['start with a non-object start', '{"event":"start","start":[]}'],
    ['start with audio/x-alaw', startFrame({ encoding: 'audio/x-alaw', sampleRate: 8000 }), 'plivo_unsupported_format'],
    ['start with opus', startFrame({ encoding: 'audio/opus', sampleRate: 48000 }), 'plivo_unsupported_format'],
    [
      'start with μ-law at 16 kHz',
      startFrame({ encoding: 'audio/x-mulaw', sampleRate: 16000 }),
      'plivo_unsupported_format',
    ],
    [
      'start with L16 at 24 kHz',
      startFrame({ encoding: 'audio/x-l16', sampleRate: 24000 }),
      'plivo_unsupported_format',
    ],
    ['start with a sample rate of the wrong type', startFrame({ encoding: 'audio/x-l16', sampleRate: true })],
    ['start with a numeric encoding', startFrame({ encoding: 1, sampleRate: 8000 })],
  ];

  it.each(malformedFrameCases({ provider: 'plivo', frames: malformed, decode: (frame) => started().decode(frame) }))(
    'throws a ProtocolError for %s',
    (_name, check) => {
      check();
    },
  );

  it('rejects an odd-length L16 payload', () => {
    const protocol = started({ encoding: 'audio/x-l16', sampleRate: 8000 });
    expect(() =>
      protocol.decode(`{"event":"media","media":{"chunk":1,"payload":"${b64(new Uint8Array(3))}"}}`),
    ).toThrow(ProtocolError);
  });
});

describe('PlivoMediaStreamProtocol.encode', () => {
  it('writes playAudio with the stream’s contentType and sampleRate, checkpoint and clearAudio with the stream id', () => {
    const protocol = started();
    const audio = mulawFrame(1);
    expect(JSON.parse(protocol.encode({ type: 'audio', payload: audio })[0] as string)).toEqual({
      event: 'playAudio',
      media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: b64(audio) },
    });
    expect(JSON.parse(protocol.encode({ type: 'mark', name: 'sb0.1' })[0] as string)).toEqual({
      event: 'checkpoint',
      streamId: STREAM,
      name: 'sb0.1',
    });
    expect(JSON.parse(protocol.encode({ type: 'clear' })[0] as string)).toEqual({
      event: 'clearAudio',
      streamId: STREAM,
    });
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '1' })).toEqual([]);
    const l16 = started({ encoding: 'audio/x-l16', sampleRate: 16000 });
    expect(JSON.parse(l16.encode({ type: 'audio', payload: new Uint8Array(4) })[0] as string).media).toMatchObject({
      contentType: 'audio/x-l16',
      sampleRate: 16000,
    });
  });

  it('refuses to send a checkpoint or clear before the stream started', () => {
    expect(() => new PlivoMediaStreamProtocol().encode({ type: 'clear' })).toThrow(ProtocolError);
  });
});

describe('PlivoPeerSimulator', () => {
  const start: CallEvent = {
    type: 'call_start',
    streamId: STREAM,
    callId: CALL,
    customParameters: { caller: '+15551230000', campaign: 'demo' },
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    raw: null,
  };

  it('writes frames the protocol decodes back to the same events; call_end writes nothing (Plivo closes the socket)', () => {
    const peer = new PlivoPeerSimulator({ epochMs: 1_705_312_200_000 });
    const protocol = new PlivoMediaStreamProtocol();
    const frames = [
      start,
      { type: 'audio', payload: mulawFrame(1) },
      { type: 'audio', payload: mulawFrame(2) },
    ].flatMap((e) => peer.encodeInbound(e as CallEvent));
    const media = JSON.parse(frames[2] as string);
    expect(media).toMatchObject({
      event: 'media',
      sequenceNumber: 3,
      streamId: STREAM,
      media: { chunk: 2, timestamp: '1705312200020' },
    });
    const decoded = frames.flatMap((f) => protocol.decode(f));
    expect(decoded[0]).toMatchObject({
      type: 'call_start',
      streamId: STREAM,
      callId: CALL,
      customParameters: start.customParameters,
    });
    expect(decoded.slice(1).map((e) => (e as { sequence?: number }).sequence)).toEqual([1, 2]);
    const rest = [
      { type: 'dtmf', digit: '7' },
      { type: 'playback_ack', name: 'sb0.2' },
      { type: 'playback_cleared' },
    ] as CallEvent[];
    expect(rest.flatMap((e) => peer.encodeInbound(e)).flatMap((f) => protocol.decode(f))).toEqual(rest);
    expect(peer.encodeInbound({ type: 'call_end' })).toEqual([]);
  });

  it('accepts what the protocol encodes and rejects what Plivo would not take', () => {
    const peer = new PlivoPeerSimulator();
    const protocol = started();
    const reject = (frame: string | Uint8Array) =>
      expectProtocolError(() => peer.decodeOutbound(frame), { code: PLIVO_INVALID_FRAME_CODE });
    reject(protocol.encode({ type: 'clear' })[0]!); // before start
    peer.encodeInbound(start);
    const commands: OutboundCommand[] = [
      { type: 'audio', payload: mulawFrame(4) },
      { type: 'mark', name: 'sb0.1' },
      { type: 'clear' },
    ];
    for (const command of commands)
      expect(protocol.encode(command).flatMap((f) => peer.decodeOutbound(f))).toEqual([command]);
    const media = (over: Record<string, unknown>) =>
      JSON.stringify({
        event: 'playAudio',
        media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: b64(mulawFrame()), ...over },
      });
    expect(
      peer.decodeOutbound(JSON.stringify({ event: 'playAudio', streamId: STREAM, media: JSON.parse(media({})).media })),
    ).toHaveLength(1);
    reject(media({ contentType: 'audio/x-l16' }));
    reject(media({ sampleRate: 16000 }));
    reject(media({ sampleRate: '8000' }));
    reject(media({ payload: 42 }));
    reject(media({ track: 'inbound' }));
    reject(`{"event":"checkpoint","streamId":"other","name":"x"}`);
    reject(`{"event":"checkpoint","name":"x"}`);
    reject(`{"event":"clearAudio"}`);
    reject(`{"event":"sendDTMF","dtmf":"1"}`);
    reject(new Uint8Array([1, 2]));
  });
});
