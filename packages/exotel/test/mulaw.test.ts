/**
 * μ-law streams. ExoML's `<Stream>` documents `content_type` "Default: audio/x-mulaw;rate=8000",
 * and Exotel's extension guide for the Stream and Voicebot applets offers `audio/x-mulaw;rate=8000`
 * (its default) next to `audio/L16;rate=8000|16000`
 * (https://developer.exotel.com/docs/agentstream/stream-voicebot-extension, "Media Format").
 */
import { Buffer } from 'node:buffer';
import { ProtocolError, decodeMuLaw, encodeMuLaw, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until, useTransportRig } from '@switchboard/conformance/testing';
import {
  EXOTEL_FRAME_RULES,
  ExotelMediaStreamProtocol,
  ExotelRealtimeTransport,
  type ExotelRealtimeTransportOptions,
} from '../src/index.js';
import { ExotelPeerSimulator } from '../src/testing.js';

const SID = 'b2e4e7f0a1c34d5e9f8a7b6c5d4e3f21';

function startFrame(mediaFormat: unknown): string {
  return JSON.stringify({
    event: 'start',
    sequence_number: '1',
    stream_sid: SID,
    start: {
      stream_sid: SID,
      call_sid: 'CA1',
      account_sid: 'AC1',
      from: '+919876543210',
      to: '+918047491899',
      custom_parameters: {},
      media_format: mediaFormat,
    },
  });
}

const MULAW_8K = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

describe('Exotel μ-law streams: decode', () => {
  it.each([
    ['the ExoML content type, rate in the encoding', { encoding: 'audio/x-mulaw;rate=8000' }],
    ['the content type and a sample rate', { encoding: 'audio/x-mulaw', sample_rate: '8000', bit_rate: '8' }],
    [
      'the live shape: "base64" at 64 kbps (8 bits a sample at 8 kHz)',
      { encoding: 'base64', sample_rate: '8000', bit_rate: '64kbps' },
    ],
    ['other names of μ-law', { encoding: 'ulaw', sample_rate: 8000 }],
  ])('reads %s as μ-law 8 kHz', (_name, mediaFormat) => {
    const [event] = new ExotelMediaStreamProtocol().decode(startFrame(mediaFormat));
    expect(event).toMatchObject({ type: 'call_start', streamId: SID, format: MULAW_8K });
  });

  it('still reads slin where the format says so, the rate in the encoding included', () => {
    expect(new ExotelMediaStreamProtocol().decode(startFrame({ encoding: 'audio/L16;rate=16000' }))[0]).toMatchObject({
      format: { encoding: 'l16', sampleRate: 16000 },
    });
    expect(
      new ExotelMediaStreamProtocol().decode(
        startFrame({ encoding: 'base64', sample_rate: '8000', bit_rate: '128kbps' }),
      )[0],
    ).toMatchObject({ format: { encoding: 'l16', sampleRate: 8000 } });
  });

  it('passes μ-law media through as it came, of any length (one byte a sample)', () => {
    const protocol = new ExotelMediaStreamProtocol();
    protocol.decode(startFrame({ encoding: 'audio/x-mulaw', sample_rate: '8000' }));
    const payload = Uint8Array.from({ length: 801 }, (_, i) => (i * 7) & 0xff);
    const events = protocol.decode(
      JSON.stringify({
        event: 'media',
        stream_sid: SID,
        media: { chunk: '3', timestamp: '200', payload: Buffer.from(payload).toString('base64') },
      }),
    );
    expect(events).toEqual([{ type: 'audio', payload, sequence: 3 }]);
    // A slin stream still refuses half samples.
    const slin = new ExotelMediaStreamProtocol();
    slin.decode(startFrame({ encoding: 'audio/x-raw', sample_rate: '8000' }));
    expect(() =>
      slin.decode(JSON.stringify({ event: 'media', media: { payload: Buffer.from(payload).toString('base64') } })),
    ).toThrow(ProtocolError);
  });
});

describe('Exotel μ-law streams: the peer simulator', () => {
  it('writes a μ-law stream the protocol reads, converting the caller’s audio to μ-law', () => {
    const peer = new ExotelPeerSimulator({
      mediaEncoding: 'mulaw',
      inputFormat: { encoding: 'l16', sampleRate: 8000, channels: 1 },
    });
    const protocol = new ExotelMediaStreamProtocol();
    const samples = Int16Array.from({ length: 160 }, (_, i) => Math.round(Math.sin(i / 4) * 6000));
    const frames = [
      { type: 'call_start', streamId: SID, customParameters: {}, format: peer.format, raw: null } as CallEvent,
      { type: 'audio', payload: new Uint8Array(samples.buffer) } as CallEvent,
    ].flatMap((e) => peer.encodeInbound(e));
    const events = frames.flatMap((f) => protocol.decode(f));
    expect(events[0]).toMatchObject({ type: 'call_start', format: MULAW_8K });
    expect(events[1]).toEqual({ type: 'audio', payload: encodeMuLaw(samples), sequence: 1 });
    expect(JSON.parse(frames[1] as string).start.media_format).toEqual({
      encoding: 'audio/x-mulaw',
      sample_rate: '8000',
      bit_rate: '8',
    });
    const live = new ExotelPeerSimulator({ mediaEncoding: 'mulaw', startFormat: 'live' });
    const liveStart = live.encodeInbound({
      type: 'call_start',
      streamId: SID,
      customParameters: {},
      format: live.format,
      raw: null,
    })[1] as string;
    expect(JSON.parse(liveStart).start.media_format).toEqual({
      encoding: 'base64',
      sample_rate: '8000',
      bit_rate: '64kbps',
    });
    expect(new ExotelMediaStreamProtocol().decode(liveStart)[0]).toMatchObject({ format: MULAW_8K });
    expect(() => new ExotelPeerSimulator({ mediaEncoding: 'mulaw', sampleRate: 16000 })).toThrow(/8000/);
  });
});

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<ExotelRealtimeTransportOptions> = {}) =>
    new ExotelRealtimeTransport({ exotelWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

describe('Exotel μ-law streams: the transport, both ways', () => {
  it('passes μ-law through to the model and sends its μ-law back in chunks Exotel plays without gaps', async () => {
    const t = rig.make();
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e));
    const peer = new ExotelPeerSimulator({ mediaEncoding: 'mulaw' });
    rig.send(peer, { type: 'call_start', streamId: SID, customParameters: {}, format: peer.format, raw: null });
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown }; output: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });

    const caller = Uint8Array.from({ length: 800 }, (_, i) => (i * 5) & 0xff);
    rig.send(peer, { type: 'audio', payload: caller });
    await until(() => rig.model.inputAudio().byteLength >= 800);
    expect(rig.model.inputAudio().subarray(0, 800)).toEqual(caller);

    // 35 ms + 410 ms + 3 ms of the model's μ-law (8 bytes a ms).
    const reply = [280, 3280, 24].map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i + k * 11) & 0x7f));
    rig.model.respond('resp_1', 'item_1', reply);
    await until(() => rig.carrier.sent.some((f) => String(f).includes('"mark"')));
    await until(() => {
      const sent = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f)).filter((c) => c.type === 'audio');
      return sent.reduce((n, c) => n + (c as { payload: Uint8Array }).payload.byteLength, 0) >= 3584;
    });
    // The peer refuses any chunk outside the byte rules: decoding everything proves the framing.
    const commands: OutboundCommand[] = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    const audio = commands.flatMap((c) => (c.type === 'audio' ? [c.payload] : []));
    for (const chunk of audio) {
      expect(chunk.byteLength).toBeGreaterThanOrEqual(EXOTEL_FRAME_RULES.minBytes);
      expect(chunk.byteLength % EXOTEL_FRAME_RULES.multipleOf).toBe(0);
    }
    const played = Buffer.concat(audio);
    const expected = Buffer.concat(reply);
    // The model's bytes unchanged, then μ-law silence (0xFF) up to a whole chunk.
    expect(played.subarray(0, expected.byteLength)).toEqual(expected);
    expect([...played.subarray(expected.byteLength)].every((b) => b === 0xff)).toBe(true);
    expect(decodeMuLaw(Uint8Array.of(0xff))[0]).toBe(0);
    expect(errors).toEqual([]);
  });
});
