import { describe, expect, it } from 'vitest';
import { ConfigError, ProtocolError, base64Encode, decodeMuLaw, type CallEvent } from '@switchboard/core';
import {
  BANDWIDTH_INVALID_CHUNK_CODE,
  BANDWIDTH_INVALID_FRAME_CODE,
  BandwidthPeerSimulator,
  type BandwidthPeerSimulatorOptions,
} from '../src/testing.js';
import { BandwidthMediaStreamProtocol } from '../src/index.js';

const START: CallEvent = {
  type: 'call_start',
  streamId: 's-1',
  callId: 'c-1',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: {},
  raw: null,
};

const play = (contentType: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ eventType: 'playAudio', media: { contentType, payload: base64Encode(bytes), ...extra } });

function refusal(decode: () => unknown): ProtocolError {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('the frame was not refused');
}

describe('BandwidthPeerSimulator encodeInbound', () => {
  it('writes start with metadata and no streamParams when there are none, as Bandwidth does', () => {
    const [frame] = new BandwidthPeerSimulator({ accountId: '5555555' }).encodeInbound(START);
    expect(JSON.parse(String(frame))).toEqual({
      eventType: 'start',
      metadata: {
        accountId: '5555555',
        callId: 'c-1',
        streamId: 's-1',
        streamName: 's-1',
        tracks: [{ name: 'inbound', mediaFormat: { encoding: 'audio/PCMU', sampleRate: 8000 } }],
      },
    });
  });

  it('numbers media frames from 1, and leaves the number out when told to', () => {
    const peer = new BandwidthPeerSimulator();
    peer.encodeInbound(START);
    const audio: CallEvent = { type: 'audio', payload: new Uint8Array(160) };
    expect(JSON.parse(String(peer.encodeInbound(audio)[0]))).toMatchObject({ track: 'inbound', sequenceNumber: 1 });
    expect(JSON.parse(String(peer.encodeInbound(audio)[0]))).toMatchObject({ sequenceNumber: 2 });
    const plain = new BandwidthPeerSimulator({ sequenceNumbers: false });
    plain.encodeInbound(START);
    expect(JSON.parse(String(plain.encodeInbound(audio)[0]))).not.toHaveProperty('sequenceNumber');
  });

  it('with both tracks, follows each caller frame with what the call hears: the bridge’s audio, then silence', () => {
    const peer = new BandwidthPeerSimulator({ tracks: 'both' });
    peer.encodeInbound(START);
    const played = new Uint8Array(160).fill(0x11);
    peer.decodeOutbound(play('audio/pcmu', played));
    const first = peer
      .encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(0x22) })
      .map((f) => JSON.parse(String(f)));
    expect(first.map((f) => f.track)).toEqual(['inbound', 'outbound']);
    expect(first[1].payload).toBe(base64Encode(played));
    const second = peer
      .encodeInbound({ type: 'audio', payload: new Uint8Array(160) })
      .map((f) => JSON.parse(String(f)));
    expect(second[1].payload).toBe(base64Encode(new Uint8Array(160).fill(0xff)));
  });

  it('writes nothing for DTMF, acknowledgements or clear confirmations, and stop for call_end', () => {
    const peer = new BandwidthPeerSimulator();
    peer.encodeInbound(START);
    expect(peer.encodeInbound({ type: 'dtmf', digit: '5' })).toEqual([]);
    expect(peer.encodeInbound({ type: 'playback_ack', name: 'm' })).toEqual([]);
    expect(peer.encodeInbound({ type: 'playback_cleared' })).toEqual([]);
    expect(JSON.parse(String(peer.encodeInbound({ type: 'call_end' })[0]))).toMatchObject({
      eventType: 'stop',
      metadata: { streamId: 's-1', callId: 'c-1' },
    });
  });

  it('offers malformed frames the protocol refuses', () => {
    const protocol = new BandwidthMediaStreamProtocol();
    for (const frame of new BandwidthPeerSimulator().malformedFrames()) refusal(() => protocol.decode(frame));
  });
});

describe('BandwidthPeerSimulator decodeOutbound', () => {
  it('accepts audio/pcmu in whole 20 ms packets, whatever the case of its content type', () => {
    const peer = new BandwidthPeerSimulator();
    const bytes = new Uint8Array(480).fill(0x33);
    expect(peer.decodeOutbound(play('audio/PCMU', bytes))).toEqual([{ type: 'audio', payload: bytes }]);
  });

  it('converts audio/pcm at 8, 16 and 24 kHz to μ-law 8 kHz', () => {
    for (const rate of [8000, 16000, 24000]) {
      const peer = new BandwidthPeerSimulator();
      const samples = new Int16Array((rate / 1000) * 40).fill(4000);
      const type = `audio/pcm;rate=${rate};channels=1;bit-depth=16;endian=little;encoding=signed`;
      const [command] = peer.decodeOutbound(play(type, new Uint8Array(samples.buffer)));
      expect(command?.type).toBe('audio');
      const payload = (command as { payload: Uint8Array }).payload;
      expect(payload.byteLength).toBe(320);
      // Past the resampler's start-up, the level comes through.
      expect(Math.abs(decodeMuLaw(payload)[300]! - 4000)).toBeLessThan(400);
    }
  });

  it('accepts a bare clear', () => {
    expect(new BandwidthPeerSimulator().decodeOutbound('{"eventType":"clear"}')).toEqual([{ type: 'clear' }]);
  });

  it.each<[string, string | Uint8Array, RegExp]>([
    ['a binary frame', Uint8Array.of(1, 2), /JSON text/],
    ['malformed JSON', '{"eventType":', /not valid JSON/],
    [
      'a Twilio-style media frame',
      '{"event":"media","media":{"payload":"/w=="}}',
      /no string "event" field|only playAudio/,
    ],
    ['a mark (Bandwidth has none)', '{"eventType":"mark","mark":{"name":"m"}}', /unsupported event "mark"/],
    ['a clear with a stream id', '{"eventType":"clear","streamId":"s-1"}', /unexpected field "streamId"/],
    [
      'playAudio with an extra field',
      '{"eventType":"playAudio","track":"inbound","media":{"contentType":"audio/pcmu","payload":"/w=="}}',
      /unexpected field "track"/,
    ],
    ['playAudio without media', '{"eventType":"playAudio"}', /missing field "media"/],
    [
      'media without a content type',
      '{"eventType":"playAudio","media":{"payload":"/w=="}}',
      /missing field "contentType"/,
    ],
    [
      'an extra field in media',
      play('audio/pcmu', new Uint8Array(160), { name: 'x' }),
      /unexpected field "name" in media/,
    ],
    [
      'a content type Bandwidth does not play',
      play('audio/mpeg', new Uint8Array(160)),
      /not audio\/pcmu or audio\/pcm/,
    ],
    ['PCM at 44.1 kHz', play('audio/pcm;rate=44100', new Uint8Array(160)), /8000, 16000 or 24000/],
    ['PCMU at 16 kHz', play('audio/pcmu;rate=16000', new Uint8Array(160)), /8000 Hz/],
    ['an empty payload', '{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":""}}', /non-empty/],
    [
      'a payload that is not base64',
      '{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"%%"}}',
      /base64/,
    ],
    ['PCM of an odd number of bytes', play('audio/pcm;rate=8000', new Uint8Array(321)), /16-bit/],
  ])('refuses %s with code bandwidth_invalid_frame', (_title, frame, message) => {
    const error = refusal(() => new BandwidthPeerSimulator().decodeOutbound(frame));
    expect(error.code).toBe(BANDWIDTH_INVALID_FRAME_CODE);
    expect(error.message).toMatch(message);
  });

  it('refuses audio that is not whole 20 ms packets with code bandwidth_invalid_chunk, unless told not to', () => {
    const error = refusal(() => new BandwidthPeerSimulator().decodeOutbound(play('audio/pcmu', new Uint8Array(100))));
    expect(error.code).toBe(BANDWIDTH_INVALID_CHUNK_CODE);
    expect(
      new BandwidthPeerSimulator({ frameMs: null }).decodeOutbound(play('audio/pcmu', new Uint8Array(100))),
    ).toHaveLength(1);
  });

  it.each<[string, BandwidthPeerSimulatorOptions]>([
    ['an unknown tracks value', { tracks: 'outbound' as 'both' }],
    ['a frameMs of zero', { frameMs: 0 }],
  ])('refuses %s with a ConfigError', (_title, options) => {
    expect(() => new BandwidthPeerSimulator(options)).toThrow(ConfigError);
  });
});
