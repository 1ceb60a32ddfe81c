import { Buffer } from 'node:buffer';
import { expectProtocolError, malformedFrameCases, type MalformedFrame } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  pcm16FromBytes,
  pcm16ToBytes,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import { TelnyxMediaStreamProtocol } from '../src/protocol.js';
import { TELNYX_INVALID_FRAME_CODE, TelnyxPeerSimulator } from '../src/peer.js';

/**
 * The start frame of the AsyncAPI spec's example, field for field:
 * https://developers.telnyx.com/api-reference/websockets/stream-call-media-over-websocket
 */
const DOCS_START = {
  event: 'start',
  sequence_number: '1',
  stream_id: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC',
  start: {
    user_id: '3E6F995F-85F7-4705-9741-53B116D28237',
    call_control_id: 'v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ',
    call_session_id: 'ff55a038-6f5d-11ef-9692-02420aeffb1f',
    from: '+13122010094',
    to: '+13122123456',
    tags: ['TAG1', 'TAG2'],
    client_state: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
    custom_parameters: { customer_id: 'customer_123' },
    media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
  },
};
const STREAM = DOCS_START.stream_id;
const CALL = DOCS_START.start.call_control_id;

function startFrame(mediaFormat: unknown = DOCS_START.start.media_format, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...DOCS_START, start: { ...DOCS_START.start, media_format: mediaFormat }, ...extra });
}

/** 160 bytes of a non-silent μ-law pattern: one 20 ms frame. */
function mulawFrame(seed = 0): Uint8Array {
  const bytes = new Uint8Array(160);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.round(Math.sin((i + seed) / 3) * 60) + 128) & 0xff;
  return bytes;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function started(
  options: ConstructorParameters<typeof TelnyxMediaStreamProtocol>[0] = {},
  format?: unknown,
): TelnyxMediaStreamProtocol {
  const protocol = new TelnyxMediaStreamProtocol(options);
  protocol.decode(startFrame(format));
  return protocol;
}

describe('TelnyxMediaStreamProtocol.decode', () => {
  it('declares marks echoed on clear, no DTMF out, 20 ms frames and a PCMU default', () => {
    const protocol = new TelnyxMediaStreamProtocol();
    expect(protocol.name).toBe('telnyx');
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

  it('turns the documented start frame into call_start: call control id, stream id, numbers, parameters, PCMU', () => {
    const protocol = new TelnyxMediaStreamProtocol();
    expect(protocol.decode('{"event":"connected","version":"1.0.0"}')).toEqual([]);
    const frame = JSON.stringify(DOCS_START);
    expect(protocol.decode(frame)).toEqual([
      {
        type: 'call_start',
        callId: CALL,
        streamId: STREAM,
        from: '+13122010094',
        to: '+13122123456',
        format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
        customParameters: { customer_id: 'customer_123' },
        raw: DOCS_START,
      },
    ]);
    expect(protocol.streamId).toBe(STREAM);
  });

  it('takes the codec from start.media_format: PCMA, and L16 at 16 and 24 kHz', () => {
    const pcma = new TelnyxMediaStreamProtocol({ bidirectionalCodec: 'PCMA' });
    expect(pcma.decode(startFrame({ encoding: 'PCMA', sample_rate: 8000, channels: 1 }))[0]).toMatchObject({
      format: { encoding: 'pcma', sampleRate: 8000 },
    });
    const l16 = new TelnyxMediaStreamProtocol({ bidirectionalCodec: 'L16' });
    expect(l16.decode(startFrame({ encoding: 'L16', sample_rate: 16000, channels: 1 }))[0]).toMatchObject({
      format: { encoding: 'l16', sampleRate: 16000 },
    });
    expect(l16.decode(startFrame({ encoding: 'l16', sample_rate: '24000' }))[0]).toMatchObject({
      format: { encoding: 'l16', sampleRate: 24000 },
    });
  });

  it('takes L16 at every stream_bidirectional_sampling_rate of the API (the telnyx SDK lists 22050 and 48000 too)', () => {
    for (const rate of [8000, 16000, 22050, 24000, 48000]) {
      const l16 = new TelnyxMediaStreamProtocol({ bidirectionalCodec: 'L16' });
      expect(l16.decode(startFrame({ encoding: 'L16', sample_rate: rate, channels: 1 }))[0]).toMatchObject({
        format: { encoding: 'l16', sampleRate: rate },
      });
    }
    expect(() =>
      new TelnyxMediaStreamProtocol({ bidirectionalCodec: 'L16' }).decode(
        startFrame({ encoding: 'L16', sample_rate: 44100 }),
      ),
    ).toThrow(/22050, 24000 or 48000/);
  });

  it('stringifies custom parameter values and reads the stream id from start when the top level has none', () => {
    const frame = JSON.stringify({
      event: 'start',
      start: { ...DOCS_START.start, stream_id: 'inner-id', custom_parameters: { tier: 3, vip: true, note: null } },
    });
    expect(new TelnyxMediaStreamProtocol().decode(frame)[0]).toMatchObject({
      streamId: 'inner-id',
      customParameters: { tier: '3', vip: 'true', note: '' },
    });
  });

  it('gives media its media.chunk as sequence (the core reorders by it) and keeps the base64', () => {
    const audio = mulawFrame();
    const frame = JSON.stringify({
      event: 'media',
      sequence_number: '4',
      stream_id: STREAM,
      media: { track: 'inbound', chunk: '2', timestamp: '5', payload: b64(audio) },
    });
    expect(started().decode(frame)).toEqual([
      { type: 'audio', payload: audio, payloadBase64: b64(audio), sequence: 2 },
    ]);
  });

  it('reads media.timestamp as ms only when asked to', () => {
    const frame = JSON.stringify({ event: 'media', media: { chunk: 7, timestamp: '140', payload: b64(mulawFrame()) } });
    expect(started().decode(frame)[0]).not.toHaveProperty('timestampMs');
    expect(started({ useMediaTimestamps: true }).decode(frame)[0]).toMatchObject({ sequence: 7, timestampMs: 140 });
    // A counter that is not an integer is left out: the audio still counts.
    const odd = JSON.stringify({ event: 'media', media: { chunk: 'x', payload: b64(mulawFrame()) } });
    expect(started().decode(odd)[0]).not.toHaveProperty('sequence');
  });

  it('turns big-endian L16 payloads (RTP byte order) into little-endian samples', () => {
    const wire = new Uint8Array([0x12, 0x34, 0xab, 0xcd]);
    const frame = JSON.stringify({ event: 'media', media: { chunk: '1', payload: b64(wire) } });
    const l16 = { encoding: 'L16', sample_rate: 16000, channels: 1 };
    const [big] = started({ bidirectionalCodec: 'L16' }, l16).decode(frame);
    expect(big).toMatchObject({ payload: new Uint8Array([0x34, 0x12, 0xcd, 0xab]) });
    expect(big).not.toHaveProperty('payloadBase64');
    const [little] = started({ bidirectionalCodec: 'L16', l16ByteOrder: 'little-endian' }, l16).decode(frame);
    expect(little).toMatchObject({ payload: wire });
  });

  it('ignores the outbound track, connected and frame types it does not know', () => {
    const protocol = started();
    expect(
      protocol.decode(
        JSON.stringify({ event: 'media', media: { track: 'outbound', chunk: '1', payload: b64(mulawFrame()) } }),
      ),
    ).toEqual([]);
    expect(protocol.decode('{"event":"transcription","text":"hi"}')).toEqual([]);
  });

  it('decodes dtmf, mark callbacks and stop', () => {
    const protocol = started();
    expect(
      protocol.decode(`{"event":"dtmf","sequence_number":"5","stream_id":"${STREAM}","dtmf":{"digit":"1"}}`),
    ).toEqual([{ type: 'dtmf', digit: '1' }]);
    expect(
      protocol.decode(`{"event":"mark","sequence_number":"6","stream_id":"${STREAM}","mark":{"name":"sb0.3"}}`),
    ).toEqual([{ type: 'playback_ack', name: 'sb0.3' }]);
    expect(
      protocol.decode(
        `{"event":"stop","sequence_number":"7","stream_id":"${STREAM}","stop":{"call_control_id":"${CALL}"}}`,
      ),
    ).toEqual([{ type: 'call_end', reason: 'stop' }]);
  });

  it('turns a Telnyx error frame into a ProtocolError that names the code and title', () => {
    const error = expectProtocolError(
      () =>
        started().decode(
          `{"event":"error","sequence_number":"8","stream_id":"${STREAM}","payload":{"code":100003,"title":"malformed_frame","detail":"Invalid media payload"}}`,
        ),
      { provider: 'telnyx', code: 'telnyx_stream_error' },
    );
    expect(error.message).toContain('100003');
    expect(error.message).toContain('malformed_frame');
  });

  const payload = b64(mulawFrame(5));
  const malformed: MalformedFrame[] = [
    ['a binary frame', new Uint8Array([1, 2, 3])],
    ['text that is not JSON', `{"event":"media","media":{"payload":"${payload}"`],
    ['a JSON array', '[1,2]'],
    ['a frame without event', `{"stream_id":"${STREAM}"}`],
    ['a numeric event', '{"event":7}'],
    ['media without a media object', '{"event":"media"}'],
    ['media without a payload', '{"event":"media","media":{"chunk":"1"}}'],
    ['media with a numeric payload', '{"event":"media","media":{"payload":123}}'],
    ['media with invalid base64', `{"event":"media","media":{"payload":"%%%${payload}"}}`],
    ['dtmf without a digit', '{"event":"dtmf","dtmf":{}}'],
    ['dtmf with a numeric digit', '{"event":"dtmf","dtmf":{"digit":5}}'],
    ['mark without a name', '{"event":"mark","mark":{}}'],
    ['start without a stream id', JSON.stringify({ event: 'start', start: DOCS_START.start })],
    ['start with a numeric stream id', startFrame(undefined, { stream_id: 42 })],
    ['start with a non-object start', `{"event":"start","stream_id":"${STREAM}","start":"x"}`],
    ['start with a non-object media_format', startFrame('PCMU')],
    ['start with a numeric encoding', startFrame({ encoding: 7, sample_rate: 8000 })],
    ['start with G722', startFrame({ encoding: 'G722', sample_rate: 16000, channels: 1 }), 'telnyx_unsupported_codec'],
    ['start with OPUS', startFrame({ encoding: 'OPUS', sample_rate: 48000, channels: 1 }), 'telnyx_unsupported_codec'],
    [
      'start with AMR-WB',
      startFrame({ encoding: 'AMR-WB', sample_rate: 16000, channels: 1 }),
      'telnyx_unsupported_codec',
    ],
    ['start with an unknown codec', startFrame({ encoding: 'SPEEX', sample_rate: 8000 }), 'telnyx_unsupported_codec'],
    ['start with PCMU at 16 kHz', startFrame({ encoding: 'PCMU', sample_rate: 16000 }), 'telnyx_unsupported_codec'],
    ['start with a sample rate that is not a number', startFrame({ encoding: 'PCMU', sample_rate: 'fast' })],
    ['start with two channels', startFrame({ encoding: 'PCMU', sample_rate: 8000, channels: 2 })],
    [
      'start with L16 when PCMU goes back (the default)',
      startFrame({ encoding: 'L16', sample_rate: 16000 }),
      'telnyx_unsupported_codec',
    ],
  ];

  // Neither the message nor the excerpt ever carries long base64 runs (audio).
  it.each(
    malformedFrameCases({
      provider: 'telnyx',
      frames: malformed,
      secrets: payload,
      decode: (frame) => started().decode(frame),
    }),
  )('throws a ProtocolError for %s', (_name, check) => {
    check();
  });

  it('says plainly that G.722 and Opus are not supported', () => {
    expect(() => started().decode(startFrame({ encoding: 'G722', sample_rate: 16000 }))).toThrow(/not supported/);
    expect(() => started().decode(startFrame({ encoding: 'OPUS', sample_rate: 16000 }))).toThrow(/not supported/);
  });

  it('refuses bad options with a ConfigError', () => {
    expect(() => new TelnyxMediaStreamProtocol({ bidirectionalCodec: 'G722' as never })).toThrow(ConfigError);
    expect(() => new TelnyxMediaStreamProtocol({ l16ByteOrder: 'middle' as never })).toThrow(ConfigError);
  });
});

describe('TelnyxMediaStreamProtocol.encode', () => {
  it('writes media, mark and clear without the stream id, and nothing for hangup or dtmf', () => {
    const protocol = started();
    const audio = mulawFrame(2);
    expect(protocol.encode({ type: 'audio', payload: audio })).toEqual([
      `{"event":"media","media":{"payload":"${b64(audio)}"}}`,
    ]);
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(0) })).toEqual([]);
    expect(JSON.parse(protocol.encode({ type: 'mark', name: 'a"b' })[0] as string)).toEqual({
      event: 'mark',
      mark: { name: 'a"b' },
    });
    expect(protocol.encode({ type: 'clear' })).toEqual(['{"event":"clear"}']);
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '12' })).toEqual([]);
  });

  it('bridges a PCMA call as PCM when PCMU goes back (the default): A-law expanded in, μ-law encoded from PCM out', () => {
    const protocol = new TelnyxMediaStreamProtocol();
    expect(protocol.decode(startFrame({ encoding: 'PCMA', sample_rate: 8000 }))[0]).toMatchObject({
      format: { encoding: 'l16', sampleRate: 8000, channels: 1 },
    });
    const alaw = mulawFrame(3);
    const [audio] = protocol.decode(
      JSON.stringify({ event: 'media', stream_id: STREAM, media: { chunk: '1', payload: b64(alaw) } }),
    );
    expect(audio).toEqual({ type: 'audio', payload: pcm16ToBytes(decodeALaw(alaw)), sequence: 1 });
    const pcm = pcm16ToBytes(new Int16Array(160).map((_, i) => Math.round(9000 * Math.sin(i / 5))));
    const [frame] = protocol.encode({ type: 'audio', payload: pcm });
    const sent = Buffer.from(JSON.parse(frame as string).media.payload, 'base64');
    expect(new Uint8Array(sent)).toEqual(encodeMuLaw(pcm16FromBytes(pcm)));
    // Told that PCMA goes back, the A-law passes through both ways.
    const same = started({ bidirectionalCodec: 'PCMA' }, { encoding: 'PCMA', sample_rate: 8000 });
    expect(JSON.parse(same.encode({ type: 'audio', payload: alaw })[0] as string).media.payload).toBe(b64(alaw));
  });

  it('bridges a PCMU call as PCM when PCMA goes back: A-law encoded from PCM, not converted from μ-law', () => {
    const protocol = started({ bidirectionalCodec: 'PCMA' });
    const pcm = pcm16ToBytes(new Int16Array(160).map((_, i) => Math.round(9000 * Math.sin(i / 5))));
    const [frame] = protocol.encode({ type: 'audio', payload: pcm });
    const sent = Buffer.from(JSON.parse(frame as string).media.payload, 'base64');
    expect(new Uint8Array(sent)).toEqual(encodeALaw(pcm16FromBytes(pcm)));
    const mulaw = mulawFrame(4);
    const [audio] = protocol.decode(
      JSON.stringify({ event: 'media', stream_id: STREAM, media: { chunk: '2', payload: b64(mulaw) } }),
    );
    expect(audio).toEqual({ type: 'audio', payload: pcm16ToBytes(decodeMuLaw(mulaw)), sequence: 2 });
  });

  it('sends L16 in network byte order', () => {
    const protocol = started({ bidirectionalCodec: 'L16' }, { encoding: 'L16', sample_rate: 16000 });
    const [frame] = protocol.encode({ type: 'audio', payload: new Uint8Array([1, 2, 3, 4]) });
    expect(JSON.parse(frame as string).media.payload).toBe(b64(new Uint8Array([2, 1, 4, 3])));
  });
});

describe('TelnyxPeerSimulator', () => {
  const start: CallEvent = {
    type: 'call_start',
    streamId: STREAM,
    callId: CALL,
    from: '+13122010094',
    customParameters: { customer_id: 'customer_123' },
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    raw: null,
  };

  it('writes frames the protocol decodes back to the same events', () => {
    const peer = new TelnyxPeerSimulator();
    const protocol = new TelnyxMediaStreamProtocol();
    const events: CallEvent[] = [
      start,
      { type: 'audio', payload: mulawFrame(1) },
      { type: 'dtmf', digit: '#' },
      { type: 'playback_ack', name: 'sb0.1' },
      { type: 'call_end' },
    ];
    const decoded = events.flatMap((e) => peer.encodeInbound(e)).flatMap((f) => protocol.decode(f));
    const { raw: _raw, ...announced } = start as Extract<CallEvent, { type: 'call_start' }>;
    expect(decoded[0]).toMatchObject(announced);
    expect(decoded.slice(1)).toEqual([
      { type: 'audio', payload: mulawFrame(1), payloadBase64: b64(mulawFrame(1)), sequence: 1 },
      { type: 'dtmf', digit: '#' },
      { type: 'playback_ack', name: 'sb0.1' },
      { type: 'call_end', reason: 'stop' },
    ]);
    const first = JSON.parse(peer.encodeInbound({ type: 'dtmf', digit: '1' })[0] as string);
    expect(first).toMatchObject({ event: 'dtmf', stream_id: STREAM, sequence_number: expect.stringMatching(/^\d+$/) });
  });

  it('delivers media frames k and k + 1 the wrong way round with swapEvery, keeping every frame', () => {
    const peer = new TelnyxPeerSimulator({ swapEvery: 4 });
    peer.encodeInbound(start);
    const chunks: number[] = [];
    for (let i = 0; i < 12; i++) {
      for (const frame of peer.encodeInbound({ type: 'audio', payload: mulawFrame(i) }))
        chunks.push(Number(JSON.parse(frame as string).media.chunk));
    }
    expect(chunks).toEqual([1, 3, 2, 4, 5, 7, 6, 8, 9, 11, 10, 12]);
    // A held frame goes out before any other event.
    const held = new TelnyxPeerSimulator({ swapEvery: 4 });
    held.encodeInbound(start);
    held.encodeInbound({ type: 'audio', payload: mulawFrame(0) });
    expect(held.encodeInbound({ type: 'audio', payload: mulawFrame(1) })).toEqual([]);
    const frames = held.encodeInbound({ type: 'call_end' }).map((f) => JSON.parse(f as string).event);
    expect(frames).toEqual(['media', 'stop']);
  });

  it('accepts what the protocol encodes and rejects what Telnyx would not play', () => {
    const peer = new TelnyxPeerSimulator();
    const protocol = started();
    const reject = (frame: string | Uint8Array) =>
      expectProtocolError(() => peer.decodeOutbound(frame), { code: TELNYX_INVALID_FRAME_CODE });
    reject(protocol.encode({ type: 'clear' })[0]!); // no stream yet
    peer.encodeInbound(start);
    const commands: OutboundCommand[] = [
      { type: 'audio', payload: mulawFrame(4) },
      { type: 'mark', name: 'sb0.1' },
      { type: 'clear' },
    ];
    for (const command of commands)
      expect(protocol.encode(command).flatMap((f) => peer.decodeOutbound(f))).toEqual([command]);
    expect(peer.decodeOutbound(`{"event":"clear","stream_id":"${STREAM}"}`)).toEqual([{ type: 'clear' }]);
    reject(new Uint8Array([1]));
    reject('{"event":"media","media":{"payload":"' + b64(new Uint8Array(80)) + '"}}'); // 10 ms
    reject('{"event":"media","media":{"payload":"' + b64(new Uint8Array(240_008)) + '"}}'); // > 30 s
    reject('{"event":"media","media":{"payload":"' + b64(mulawFrame()) + '","track":"inbound"}}');
    reject('{"event":"media","streamSid":"x","media":{"payload":"' + b64(mulawFrame()) + '"}}');
    reject('{"event":"clear","stream_id":"another"}');
    reject('{"event":"mark","mark":{}}');
    reject('{"event":"play"}');
  });
});
