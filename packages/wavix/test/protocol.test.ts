import { Buffer } from 'node:buffer';
import { expectProtocolError, malformedFrameCases, type MalformedFrame } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ProtocolError,
  encodeMuLaw,
  pcm16FromBytes,
  pcm16ToBytes,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import { WAVIX_UNSUPPORTED_STREAM_CODE, WavixMediaStreamProtocol } from '../src/protocol.js';
import {
  WAVIX_INVALID_CHUNK_CODE,
  WAVIX_INVALID_FRAME_CODE,
  WAVIX_ONEWAY_STREAM_CODE,
  WavixPeerSimulator,
} from '../src/peer.js';

/**
 * The frames of Wavix's AsyncAPI document (github.com/Wavix/wavix-openapi, docs/wavix-asyncapi.yaml,
 * the message examples), ids made UUIDs as the REST API writes them.
 */
const CALL = '5dccb6b0-f35c-488c-867b-86fb012c4415';
const STREAM = '123e4567-e89b-12d3-a456-426614174000';
const DOCS_START = {
  event: 'start',
  event_time: '2024-01-15T10:30:00Z',
  call_id: CALL,
  stream_id: STREAM,
  stream_type: 'twoway',
  channel: 'both',
  sequence_number: 1,
};

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** `ms` of a non-silent PCM16 24 kHz tone. */
function pcm(ms: number, seed = 0): Uint8Array {
  const samples = new Int16Array(ms * 24);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((i + seed) / 7) * 9000);
  return pcm16ToBytes(samples);
}

function media(payload: Uint8Array, chunk: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event: 'media',
    event_time: '2024-01-15T10:30:01Z',
    call_id: CALL,
    stream_id: STREAM,
    sequence_number: chunk + 1,
    media: { payload: b64(payload), track: 'inbound', timestamp: chunk * 480, chunk, ...extra },
  });
}

function started(options: ConstructorParameters<typeof WavixMediaStreamProtocol>[0] = {}): WavixMediaStreamProtocol {
  const protocol = new WavixMediaStreamProtocol(options);
  protocol.decode(JSON.stringify(DOCS_START));
  return protocol;
}

describe('WavixMediaStreamProtocol.decode', () => {
  it('declares marks, clear, no DTMF and one 20 ms frame per message; PCM16 24 kHz is the only format', () => {
    const protocol = new WavixMediaStreamProtocol();
    expect(protocol.name).toBe('wavix');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'mark',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: false,
      dtmfOut: false,
      frame: { ms: 20, maxBytes: 960 },
    });
    expect(protocol.defaultFormat).toEqual({ encoding: 'l16', sampleRate: 24000, channels: 1 });
  });

  it('takes the unconfirmed wire facts as options: frame length, marks on clear, pacing', () => {
    const protocol = new WavixMediaStreamProtocol({ frameMs: 40, ackOnClear: 'echo-pending', pacingLeadMs: 400 });
    expect(protocol.capabilities).toMatchObject({
      ackOnClear: 'echo-pending',
      frame: { ms: 40, maxBytes: 1920 },
      pacing: { leadMs: 400 },
    });
    for (const bad of [
      { frameMs: 5 },
      { frameMs: 20.5 },
      { frameMs: 2000 },
      { pacingLeadMs: 10 },
      { pacingLeadMs: -1 },
    ])
      expect(() => new WavixMediaStreamProtocol(bad)).toThrow(ConfigError);
    expect(() => new WavixMediaStreamProtocol({ ackOnClear: 'confirm' as 'none' })).toThrow(ConfigError);
    expect(
      () => new WavixMediaStreamProtocol({ customParameters: 'a=b' as unknown as Record<string, string> }),
    ).toThrow(ConfigError);
  });

  it('turns the documented start into call_start: call id, stream id, PCM16 24 kHz, no parameters of its own', () => {
    const protocol = new WavixMediaStreamProtocol();
    expect(protocol.decode('{"event":"connected","event_time":"2024-01-15T10:30:00Z"}')).toEqual([]);
    const [event] = protocol.decode(JSON.stringify(DOCS_START));
    expect(event).toEqual({
      type: 'call_start',
      callId: CALL,
      streamId: STREAM,
      format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
      customParameters: {},
      raw: DOCS_START,
    });
    expect(protocol.streamId).toBe(STREAM);
  });

  it('gives call_start the parameters the application holds for the call, as a record or per stream', () => {
    const fixed = new WavixMediaStreamProtocol({ customParameters: { lang: 'de', tier: 'gold' } });
    expect(fixed.decode(JSON.stringify(DOCS_START))).toEqual([
      expect.objectContaining({ customParameters: { lang: 'de', tier: 'gold' } }),
    ]);
    const asked: unknown[] = [];
    const lookedUp = new WavixMediaStreamProtocol({
      customParameters: (stream) => {
        asked.push(stream);
        return { caller: '+15551230000' };
      },
    });
    expect(lookedUp.decode(JSON.stringify(DOCS_START))).toEqual([
      expect.objectContaining({ customParameters: { caller: '+15551230000' } }),
    ]);
    expect(asked).toEqual([{ streamId: STREAM, callId: CALL }]);
    const throwing = new WavixMediaStreamProtocol({
      customParameters: () => {
        throw new Error('store down');
      },
    });
    expectProtocolError(() => throwing.decode(JSON.stringify(DOCS_START)), { provider: 'wavix' });
  });

  it('passes caller audio through untouched, media.chunk as its sequence; the outbound track is left out', () => {
    const protocol = started();
    const audio = pcm(20);
    expect(protocol.decode(media(audio, 7))).toEqual([{ type: 'audio', payload: audio, sequence: 7 }]);
    expect(protocol.decode(media(pcm(20, 3), 8, { track: 'outbound' }))).toEqual([]);
    // A frame without the optional fields still carries audio.
    expect(protocol.decode(`{"event":"media","media":{"payload":"${b64(audio)}"}}`)).toEqual([
      { type: 'audio', payload: audio },
    ]);
  });

  it('orders by arrival, not media.chunk, where the stream also carries the outbound channel', () => {
    // A one-way stream of both channels: Wavix does not say whether chunks are numbered per channel.
    const both = new WavixMediaStreamProtocol();
    both.decode(JSON.stringify({ ...DOCS_START, stream_type: 'oneway', channel: 'both' }));
    expect(both.decode(media(pcm(20), 1))).toEqual([{ type: 'audio', payload: pcm(20) }]);
    // A two-way stream that sends the outbound channel after all: from then on, arrival order.
    const twoway = started();
    expect(twoway.decode(media(pcm(20), 1))).toEqual([{ type: 'audio', payload: pcm(20), sequence: 1 }]);
    expect(twoway.decode(media(pcm(20, 1), 2, { track: 'outbound' }))).toEqual([]);
    expect(twoway.decode(media(pcm(20, 2), 3))).toEqual([{ type: 'audio', payload: pcm(20, 2) }]);
    // The next stream starts numbered again.
    twoway.decode(JSON.stringify({ ...DOCS_START, stream_id: 'next' }));
    expect(twoway.decode(media(pcm(20), 1))).toEqual([{ type: 'audio', payload: pcm(20), sequence: 1 }]);
  });

  it('decodes mark echoes, stop, and passes over events it does not know', () => {
    const protocol = started();
    expect(
      protocol.decode(
        `{"event":"mark","event_time":"2024-01-15T10:30:02Z","call_id":"${CALL}","stream_id":"${STREAM}","sequence_number":10,"mark":{"name":"sb0.4"}}`,
      ),
    ).toEqual([{ type: 'playback_ack', name: 'sb0.4' }]);
    expect(protocol.decode(`{"event":"stop","event_time":"2024-01-15T10:30:05Z","stream_id":"${STREAM}"}`)).toEqual([
      { type: 'call_end', reason: 'stop' },
    ]);
    expect(protocol.decode('{"event":"heartbeat","event_time":"2024-01-15T10:30:06Z"}')).toEqual([]);
  });

  const malformed: MalformedFrame[] = [
    ['a binary frame', new Uint8Array([1, 2])],
    ['text that is not JSON', 'hello'],
    ['a JSON array', '[1,2]'],
    ['a frame without event', `{"stream_id":"${STREAM}"}`],
    ['a frame whose event is a number', '{"event":7}'],
    ['media without a media object', '{"event":"media","media":"AAAA"}'],
    ['media without a payload', '{"event":"media","media":{"track":"inbound"}}'],
    ['media with a numeric payload', '{"event":"media","media":{"payload":12}}'],
    ['media with invalid base64', '{"event":"media","media":{"payload":"@@@@"}}'],
    ['media that is not whole 16-bit samples', `{"event":"media","media":{"payload":"${b64(new Uint8Array(3))}"}}`],
    ['media of an unknown track', `{"event":"media","media":{"payload":"AAAA","track":"both"}}`],
    ['mark without a name', '{"event":"mark","mark":{}}'],
    ['mark whose name is a number', '{"event":"mark","mark":{"name":3}}'],
    ['start without a stream id', JSON.stringify({ ...DOCS_START, stream_id: undefined })],
    ['start with an empty stream id', JSON.stringify({ ...DOCS_START, stream_id: '' })],
    ['start with a numeric stream id', JSON.stringify({ ...DOCS_START, stream_id: 12 })],
    ['start with a numeric call id', JSON.stringify({ ...DOCS_START, call_id: 12 })],
    [
      'start of an unknown stream type',
      JSON.stringify({ ...DOCS_START, stream_type: 'duplex' }),
      WAVIX_UNSUPPORTED_STREAM_CODE,
    ],
    ['start of an unknown channel', JSON.stringify({ ...DOCS_START, channel: 'left' }), WAVIX_UNSUPPORTED_STREAM_CODE],
    ['start with a channel of the wrong type', JSON.stringify({ ...DOCS_START, channel: ['both'] })],
    ['a text frame over 1 MiB', `{"event":"media","media":{"payload":"${'A'.repeat(1_100_000)}"}}`],
  ];

  it.each(malformedFrameCases({ provider: 'wavix', frames: malformed, decode: (frame) => started().decode(frame) }))(
    'throws a ProtocolError for %s',
    (_name, check) => {
      check();
    },
  );

  it('keeps audio out of error messages', () => {
    const audio = b64(pcm(20));
    const error = expectProtocolError(() => started().decode(`{"event":"media","media":{"payload":"${audio}@"}}`), {
      provider: 'wavix',
    });
    expect(error.frameExcerpt ?? '').not.toContain(audio.slice(0, 60));
  });
});

describe('WavixMediaStreamProtocol.encode', () => {
  it('writes media, mark and clear naming the stream, nothing for hang-up or DTMF', () => {
    const protocol = started();
    const audio = pcm(20);
    expect(protocol.encode({ type: 'audio', payload: audio })).toEqual([
      `{"event":"media","stream_id":"${STREAM}","media":{"payload":"${b64(audio)}"}}`,
    ]);
    expect(protocol.encode({ type: 'mark', name: 'sb"1' })).toEqual([
      `{"event":"mark","stream_id":"${STREAM}","mark":{"name":"sb\\"1"}}`,
    ]);
    expect(protocol.encode({ type: 'clear' })).toEqual([`{"event":"clear","stream_id":"${STREAM}"}`]);
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '12' })).toEqual([]);
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(0) })).toEqual([]);
  });

  it('refuses to write before the stream started: no stream id to name', () => {
    expect(() => new WavixMediaStreamProtocol().encode({ type: 'clear' })).toThrow(ProtocolError);
  });
});

describe('WavixPeerSimulator', () => {
  const start: CallEvent = {
    type: 'call_start',
    streamId: STREAM,
    callId: CALL,
    format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
    customParameters: { campaign: 'demo' },
    raw: null,
  };

  it('opens with connected and a start in the documented shape, and hands the parameters over outside the wire', () => {
    const seen: unknown[] = [];
    const peer = new WavixPeerSimulator({ now: () => Date.UTC(2024, 0, 15, 10, 30), onStart: (s) => seen.push(s) });
    const frames = peer.encodeInbound(start).map((f) => JSON.parse(f as string) as Record<string, unknown>);
    expect(frames).toEqual([
      { event: 'connected', event_time: '2024-01-15T10:30:00.000Z' },
      {
        event: 'start',
        event_time: '2024-01-15T10:30:00.000Z',
        call_id: CALL,
        stream_id: STREAM,
        stream_type: 'twoway',
        channel: 'inbound',
        sequence_number: 1,
      },
    ]);
    expect(seen).toEqual([{ streamId: STREAM, callId: CALL, customParameters: { campaign: 'demo' } }]);
  });

  it('converts the caller’s μ-law 8 kHz to PCM16 24 kHz, numbers chunks, writes no DTMF, and the protocol reads it', () => {
    const peer = new WavixPeerSimulator({ inputFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 } });
    const protocol = new WavixMediaStreamProtocol();
    const mulaw = encodeMuLaw(pcm16FromBytes(pcm(20)).filter((_, i) => i % 3 === 0));
    const events = [start, { type: 'audio', payload: mulaw }, { type: 'audio', payload: mulaw }] as CallEvent[];
    const decoded = events.flatMap((e) => peer.encodeInbound(e)).flatMap((f) => protocol.decode(f));
    const audio = decoded.filter((e): e is Extract<CallEvent, { type: 'audio' }> => e.type === 'audio');
    expect(audio.map((a) => [a.sequence, a.payload.byteLength])).toEqual([
      [1, 960],
      [2, 960],
    ]);
    expect(peer.encodeInbound({ type: 'dtmf', digit: '5' })).toEqual([]);
    const [mark] = peer.encodeInbound({ type: 'playback_ack', name: 'm1' });
    expect(protocol.decode(mark!)).toEqual([{ type: 'playback_ack', name: 'm1' }]);
    const [stop] = peer.encodeInbound({ type: 'call_end' });
    expect(JSON.parse(stop as string)).toMatchObject({ event: 'stop', call_id: CALL, stream_id: STREAM });
  });

  it('accepts the protocol’s media, mark and clear, with or without the stream id', () => {
    const peer = new WavixPeerSimulator();
    const protocol = started();
    peer.encodeInbound(start);
    const audio = pcm(20);
    const sent = [
      ...protocol.encode({ type: 'audio', payload: audio }),
      ...protocol.encode({ type: 'mark', name: 'm1' }),
      ...protocol.encode({ type: 'clear' }),
      `{"event":"media","media":{"payload":"${b64(audio)}"}}`,
    ];
    expect(sent.flatMap((f) => peer.decodeOutbound(f))).toEqual([
      { type: 'audio', payload: audio },
      { type: 'mark', name: 'm1' },
      { type: 'clear' },
      { type: 'audio', payload: audio },
    ] satisfies OutboundCommand[]);
  });

  it('accepts what Wavix’s own Pipecat serializer sends: media and clear naming the stream, Python’s JSON spacing', () => {
    // github.com/Wavix/pipecat-wavix, src/pipecat_wavix/wavix_serializer.py: json.dumps of
    // {"event": "media", "stream_id": …, "media": {"payload": …}} and {"event": "clear", "stream_id": …},
    // one 20 ms frame (960 bytes) a message.
    const peer = new WavixPeerSimulator();
    peer.encodeInbound(start);
    const audio = pcm(20);
    expect(
      peer.decodeOutbound(`{"event": "media", "stream_id": "${STREAM}", "media": {"payload": "${b64(audio)}"}}`),
    ).toEqual([{ type: 'audio', payload: audio }]);
    expect(peer.decodeOutbound(`{"event": "clear", "stream_id": "${STREAM}"}`)).toEqual([{ type: 'clear' }]);
  });

  it('REFUSES what Wavix would drop or play badly', () => {
    const peer = new WavixPeerSimulator();
    const frame = (audio: Uint8Array, extra = '') =>
      `{"event":"media","stream_id":"${STREAM}","media":{"payload":"${b64(audio)}"}${extra}}`;
    expectProtocolError(() => peer.decodeOutbound('{"event":"clear"}'), { code: WAVIX_INVALID_FRAME_CODE });
    peer.encodeInbound(start);
    const refused: Array<[string | Uint8Array, string]> = [
      [frame(pcm(10)), WAVIX_INVALID_CHUNK_CODE],
      [frame(pcm(40)), WAVIX_INVALID_CHUNK_CODE],
      [frame(new Uint8Array(961)), WAVIX_INVALID_CHUNK_CODE],
      [frame(pcm(20), ',"track":"inbound"'), WAVIX_INVALID_FRAME_CODE],
      [frame(pcm(20)).replace(STREAM, 'another-stream'), WAVIX_INVALID_FRAME_CODE],
      ['{"event":"mark","mark":{"name":""}}', WAVIX_INVALID_FRAME_CODE],
      ['{"event":"dtmf","dtmf":{"digit":"1"}}', WAVIX_INVALID_FRAME_CODE],
      ['{"event":"stop"}', WAVIX_INVALID_FRAME_CODE],
      [new Uint8Array([1]), WAVIX_INVALID_FRAME_CODE],
      ['not json', WAVIX_INVALID_FRAME_CODE],
    ];
    for (const [bad, code] of refused) expectProtocolError(() => peer.decodeOutbound(bad), { provider: 'wavix', code });
    expect(peer.decodeOutbound(frame(pcm(20)))).toHaveLength(1);
  });

  it('refuses everything on a one-way stream, and holds to another frame length when asked', () => {
    const oneway = new WavixPeerSimulator({ streamType: 'oneway' });
    oneway.encodeInbound(start);
    expectProtocolError(() => oneway.decodeOutbound(`{"event":"clear","stream_id":"${STREAM}"}`), {
      code: WAVIX_ONEWAY_STREAM_CODE,
    });
    const forty = new WavixPeerSimulator({ frameMs: 40 });
    forty.encodeInbound(start);
    const protocol = started({ frameMs: 40 });
    const [fortyMs] = protocol.encode({ type: 'audio', payload: pcm(40) });
    expect(forty.decodeOutbound(fortyMs!)).toEqual([{ type: 'audio', payload: pcm(40) }]);
    const [twentyMs] = protocol.encode({ type: 'audio', payload: pcm(20) });
    expectProtocolError(() => forty.decodeOutbound(twentyMs!), { code: WAVIX_INVALID_CHUNK_CODE });
  });

  it('gives the harness malformed frames the protocol refuses', () => {
    const peer = new WavixPeerSimulator();
    peer.encodeInbound(start);
    for (const bad of peer.malformedFrames()) expectProtocolError(() => started().decode(bad), { provider: 'wavix' });
    expect(() => new WavixPeerSimulator({ streamType: 'both' as 'oneway' })).toThrow(ConfigError);
  });
});
