import { Buffer } from 'node:buffer';
import { expectProtocolError, malformedFrameCases, type MalformedFrame } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import { ProtocolError, decodeMuLaw, pcm16ToBytes, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { EXOTEL_FRAME_RULES, ExotelMediaStreamProtocol } from '../src/protocol.js';
import { EXOTEL_INVALID_CHUNK_CODE, EXOTEL_INVALID_FRAME_CODE, ExotelPeerSimulator } from '../src/peer.js';

/**
 * A start message in the shape of Exotel's Voicebot protocol
 * (https://developer.exotel.com/docs/agentstream/websocket-protocol, "start"): snake_case,
 * `stream_sid` at the top and in `start`, `sample_rate` and `bit_rate` as strings.
 */
const DOCS_START = {
  event: 'start',
  sequence_number: '1',
  stream_sid: 'b2e4e7f0a1c34d5e9f8a7b6c5d4e3f21',
  start: {
    stream_sid: 'b2e4e7f0a1c34d5e9f8a7b6c5d4e3f21',
    call_sid: 'c1d2e3f4a5b6c7d8e9f0a1b2c3d41a2b',
    account_sid: 'exotel123',
    from: '+919876543210',
    to: '+918047491899',
    custom_parameters: { key1: 'value1' },
    media_format: { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' },
  },
};
const SID = DOCS_START.stream_sid;
const CALL = DOCS_START.start.call_sid;

function startFrame(mediaFormat: unknown = DOCS_START.start.media_format, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...DOCS_START, start: { ...DOCS_START.start, media_format: mediaFormat }, ...extra });
}

/** `ms` of a non-silent slin 8 kHz tone. */
function slin(ms: number, seed = 0): Uint8Array {
  const samples = new Int16Array(ms * 8);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((i + seed) / 5) * 8000);
  return pcm16ToBytes(samples);
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function started(format?: unknown): ExotelMediaStreamProtocol {
  const protocol = new ExotelMediaStreamProtocol();
  protocol.decode(startFrame(format));
  return protocol;
}

describe('ExotelMediaStreamProtocol.decode', () => {
  it('declares Exotel’s chunk rules as frame rules, so the core’s framer enforces them', () => {
    const protocol = new ExotelMediaStreamProtocol();
    expect(protocol.name).toBe('exotel');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'mark',
      ackOnClear: 'echo-pending',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { minBytes: 3200, maxBytes: 100_000, multipleOf: 320 },
    });
    expect(protocol.defaultFormat).toEqual({ encoding: 'l16', sampleRate: 8000, channels: 1 });
  });

  it('turns the start message into call_start: call sid, stream sid, numbers, parameters, slin 8 kHz', () => {
    const protocol = new ExotelMediaStreamProtocol();
    expect(protocol.decode('{"event":"connected"}')).toEqual([]);
    expect(protocol.decode(JSON.stringify(DOCS_START))).toEqual([
      {
        type: 'call_start',
        callId: CALL,
        streamId: SID,
        from: '+919876543210',
        to: '+918047491899',
        format: { encoding: 'l16', sampleRate: 8000, channels: 1 },
        customParameters: { key1: 'value1' },
        raw: DOCS_START,
      },
    ]);
    expect(protocol.streamSid).toBe(SID);
  });

  it('reads 16 and 24 kHz streams, numeric sample rates and other names of raw slin', () => {
    expect(
      new ExotelMediaStreamProtocol().decode(startFrame({ encoding: 'raw/slin', sample_rate: '16000' }))[0],
    ).toMatchObject({ format: { sampleRate: 16000 } });
    expect(
      new ExotelMediaStreamProtocol().decode(startFrame({ encoding: 'slin16', sample_rate: 24000 }))[0],
    ).toMatchObject({ format: { sampleRate: 24000 } });
    expect(new ExotelMediaStreamProtocol().decode(startFrame(null))[0]).toMatchObject({
      format: { encoding: 'l16', sampleRate: 8000 },
    });
  });

  it('reads the start of live Voicebot streams: encoding "base64", bit_rate "128kbps", numeric or kHz sample rates', () => {
    // The media_format many live streams carry (and Exotel's earlier documentation showed).
    const live = { encoding: 'base64', sample_rate: '8000', bit_rate: '128kbps' };
    expect(new ExotelMediaStreamProtocol().decode(startFrame(live))[0]).toMatchObject({
      type: 'call_start',
      streamId: SID,
      callId: CALL,
      format: { encoding: 'l16', sampleRate: 8000, channels: 1 },
    });
    expect(
      new ExotelMediaStreamProtocol().decode(
        startFrame({ encoding: 'base64', sample_rate: 16000, bit_rate: '256kbps' }),
      )[0],
    ).toMatchObject({
      format: { sampleRate: 16000 },
    });
    expect(
      new ExotelMediaStreamProtocol().decode(
        startFrame({ encoding: 'audio/x-l16', sample_rate: '16kHz', bit_rate: '128kbps' }),
      )[0],
    ).toMatchObject({
      format: { sampleRate: 16000 },
    });
  });

  it('refuses a dtmf digit that is not one of 0-9, *, #, A-D as a string', () => {
    expect(started().decode(`{"event":"dtmf","stream_sid":"${SID}","dtmf":{"digit":"a"}}`)).toEqual([
      { type: 'dtmf', digit: 'A' },
    ]);
    for (const digit of ['"55"', '"x"', '"hello"', '7', 'true', '""']) {
      expectProtocolError(() => started().decode(`{"event":"dtmf","stream_sid":"${SID}","dtmf":{"digit":${digit}}}`), {
        provider: 'exotel',
        code: 'protocol_error',
      });
    }
  });

  it('gives media its chunk as sequence', () => {
    const audio = slin(100);
    const frame = JSON.stringify({
      event: 'media',
      sequence_number: '3',
      stream_sid: SID,
      media: { chunk: '2', timestamp: '200', payload: b64(audio) },
    });
    expect(started().decode(frame)).toEqual([{ type: 'audio', payload: audio, sequence: 2 }]);
  });

  it('decodes dtmf with its duration, mark echoes and stop with its reason', () => {
    const protocol = started();
    expect(
      protocol.decode(
        `{"event":"dtmf","sequence_number":"7","stream_sid":"${SID}","dtmf":{"digit":"5","duration":"100"}}`,
      ),
    ).toEqual([{ type: 'dtmf', digit: '5', durationMs: 100 }]);
    expect(protocol.decode(`{"event":"dtmf","stream_sid":"${SID}","dtmf":{"digit":"#"}}`)).toEqual([
      { type: 'dtmf', digit: '#' },
    ]);
    expect(
      protocol.decode(`{"event":"mark","sequence_number":"15","stream_sid":"${SID}","mark":{"name":"sb0.4"}}`),
    ).toEqual([{ type: 'playback_ack', name: 'sb0.4' }]);
    expect(
      protocol.decode(
        `{"event":"stop","sequence_number":"20","stream_sid":"${SID}","stop":{"call_sid":"${CALL}","reason":"callended"}}`,
      ),
    ).toEqual([{ type: 'call_end', reason: 'callended' }]);
    expect(protocol.decode(`{"event":"stop","stream_sid":"${SID}"}`)).toEqual([{ type: 'call_end', reason: 'stop' }]);
  });

  const malformed: MalformedFrame[] = [
    ['a binary frame', new Uint8Array([1, 2])],
    ['text that is not JSON', 'hello'],
    ['a frame without event', `{"stream_sid":"${SID}"}`],
    ['media without a payload', '{"event":"media","media":{}}'],
    ['media with an object payload', '{"event":"media","media":{"payload":{}}}'],
    ['media with invalid base64', '{"event":"media","media":{"payload":"@@@@"}}'],
    ['media that is not whole 16-bit samples', `{"event":"media","media":{"payload":"${b64(new Uint8Array(3))}"}}`],
    ['dtmf without a digit', '{"event":"dtmf","dtmf":{"duration":"100"}}'],
    ['mark without a name', '{"event":"mark","mark":{"name":null}}'],
    ['start without a stream sid', JSON.stringify({ event: 'start', start: { call_sid: CALL } })],
    [
      'start with a numeric stream sid',
      startFrame(undefined, { stream_sid: 12, start: { ...DOCS_START.start, stream_sid: 12 } }),
    ],
    ['start with A-law', startFrame({ encoding: 'audio/x-alaw', sample_rate: '8000' }), 'exotel_unsupported_format'],
    [
      'start with μ-law at 16 kHz',
      startFrame({ encoding: 'audio/x-mulaw', sample_rate: '16000' }),
      'exotel_unsupported_format',
    ],
    [
      'start with 16-bit μ-law',
      startFrame({ encoding: 'audio/x-mulaw', sample_rate: '8000', bit_rate: '16' }),
      'exotel_unsupported_format',
    ],
    ['start at 44.1 kHz', startFrame({ encoding: 'audio/x-raw', sample_rate: '44100' }), 'exotel_unsupported_format'],
    [
      'start with 8-bit samples',
      startFrame({ encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '8' }),
      'exotel_unsupported_format',
    ],
    ['start with a sample rate of the wrong type', startFrame({ encoding: 'audio/x-raw', sample_rate: ['8000'] })],
    [
      'start with a bit rate of the wrong type',
      startFrame({ encoding: 'base64', sample_rate: '8000', bit_rate: { kbps: 128 } }),
    ],
    ['start with an unreadable bit rate', startFrame({ encoding: 'base64', sample_rate: '8000', bit_rate: 'fast' })],
    [
      'start at 44.1 kHz written in kHz',
      startFrame({ encoding: 'base64', sample_rate: '44kHz' }),
      'exotel_unsupported_format',
    ],
  ];

  it.each(malformedFrameCases({ provider: 'exotel', frames: malformed, decode: (frame) => started().decode(frame) }))(
    'throws a ProtocolError for %s',
    (_name, check) => {
      check();
    },
  );
});

describe('ExotelMediaStreamProtocol.encode', () => {
  it('writes media, mark and clear with the stream sid, nothing for hangup or dtmf', () => {
    const protocol = started();
    const audio = slin(200);
    expect(JSON.parse(protocol.encode({ type: 'audio', payload: audio })[0] as string)).toEqual({
      event: 'media',
      stream_sid: SID,
      media: { payload: b64(audio) },
    });
    expect(JSON.parse(protocol.encode({ type: 'mark', name: 'sb0.1' })[0] as string)).toEqual({
      event: 'mark',
      stream_sid: SID,
      mark: { name: 'sb0.1' },
    });
    expect(JSON.parse(protocol.encode({ type: 'clear' })[0] as string)).toEqual({ event: 'clear', stream_sid: SID });
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '1' })).toEqual([]);
    expect(() => new ExotelMediaStreamProtocol().encode({ type: 'clear' })).toThrow(ProtocolError);
  });
});

describe('ExotelPeerSimulator', () => {
  const start: CallEvent = {
    type: 'call_start',
    streamId: SID,
    callId: CALL,
    customParameters: { caller: '+15551230000' },
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    raw: null,
  };

  it('writes the start as documented or as live streams send it, and the protocol reads both', () => {
    for (const [startFormat, mediaFormat] of [
      ['documented', { encoding: 'audio/x-raw', sample_rate: '16000', bit_rate: '16' }],
      ['live', { encoding: 'base64', sample_rate: '16000', bit_rate: '256kbps' }],
    ] as const) {
      const peer = new ExotelPeerSimulator({ sampleRate: 16000, startFormat });
      const frames = peer.encodeInbound(start) as string[];
      expect(JSON.parse(frames.at(-1)!).start.media_format).toEqual(mediaFormat);
      const events = frames.flatMap((f) => new ExotelMediaStreamProtocol().decode(f));
      expect(events.find((e) => e.type === 'call_start')).toMatchObject({
        format: { encoding: 'l16', sampleRate: 16000 },
      });
    }
  });

  it('converts the caller’s μ-law to slin and writes frames the protocol decodes', () => {
    const peer = new ExotelPeerSimulator({ inputFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 } });
    const protocol = new ExotelMediaStreamProtocol();
    const mulaw = new Uint8Array(160).map((_, i) => (i * 3) & 0xff);
    const frames = [
      start,
      { type: 'audio', payload: mulaw },
      { type: 'dtmf', digit: '4', durationMs: 120 },
      { type: 'playback_ack', name: 'm1' },
      { type: 'call_end' },
    ].flatMap((e) => peer.encodeInbound(e as CallEvent));
    expect(JSON.parse(frames[0] as string)).toEqual({ event: 'connected' });
    const start1 = JSON.parse(frames[1] as string);
    expect(start1.start.media_format).toEqual({ encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' });
    const events = frames.flatMap((f) => protocol.decode(f));
    expect(events[0]).toMatchObject({
      type: 'call_start',
      streamId: SID,
      callId: CALL,
      customParameters: { caller: '+15551230000' },
    });
    expect(events[1]).toEqual({ type: 'audio', payload: pcm16ToBytes(decodeMuLaw(mulaw)), sequence: 1 });
    expect(events.slice(2)).toEqual([
      { type: 'dtmf', digit: '4', durationMs: 120 },
      { type: 'playback_ack', name: 'm1' },
      { type: 'call_end', reason: 'callended' },
    ]);
  });

  it('REJECTS media chunks outside Exotel’s rules: under 3.2 KB, over 100 KB, not a multiple of 320 bytes', () => {
    const peer = new ExotelPeerSimulator();
    peer.encodeInbound({ ...start, format: { encoding: 'l16', sampleRate: 8000, channels: 1 } });
    const media = (bytes: number) =>
      JSON.stringify({ event: 'media', stream_sid: SID, media: { payload: b64(new Uint8Array(bytes)) } });
    for (const ok of [3200, 3520, 99_840])
      expect(peer.decodeOutbound(media(ok))).toEqual([{ type: 'audio', payload: new Uint8Array(ok) }]);
    for (const bad of [320, 3199, 3210, 3360 + 2, 100_160, 102_400]) {
      expectProtocolError(() => peer.decodeOutbound(media(bad)), { code: EXOTEL_INVALID_CHUNK_CODE });
    }
    expect(EXOTEL_FRAME_RULES).toEqual({ minBytes: 3200, maxBytes: 100_000, multipleOf: 320 });
  });

  it('accepts the protocol’s mark and clear for the active stream and rejects other frames', () => {
    const peer = new ExotelPeerSimulator();
    const protocol = started();
    const reject = (frame: string | Uint8Array) =>
      expectProtocolError(() => peer.decodeOutbound(frame), { code: EXOTEL_INVALID_FRAME_CODE });
    reject(protocol.encode({ type: 'clear' })[0]!); // no start yet
    peer.encodeInbound({ ...start, format: { encoding: 'l16', sampleRate: 8000, channels: 1 } });
    const commands: OutboundCommand[] = [
      { type: 'audio', payload: slin(200) },
      { type: 'mark', name: 'sb0.1' },
      { type: 'clear' },
    ];
    for (const command of commands)
      expect(protocol.encode(command).flatMap((f) => peer.decodeOutbound(f))).toEqual([command]);
    reject(`{"event":"clear","stream_sid":"other"}`);
    reject(`{"event":"clear"}`);
    reject(`{"event":"mark","stream_sid":"${SID}","mark":{"name":""}}`);
    reject(`{"event":"media","stream_sid":"${SID}","media":{"payload":"${b64(slin(200))}","chunk":"1"}}`);
    reject(`{"event":"stop","stream_sid":"${SID}"}`);
    reject(new Uint8Array(3200));
  });
});
