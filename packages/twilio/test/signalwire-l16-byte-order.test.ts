import {
  ConfigError,
  base64Decode,
  base64Encode,
  concatBytes,
  pcm16FromBytes,
  swapBytes16,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCarrier, until, useTransportRig } from '@switchboard/conformance/testing';
import {
  SignalWireRealtimeTransport,
  TwilioMediaStreamProtocol,
  TwilioRealtimeTransport,
  type SignalWireRealtimeTransportOptions,
} from '../src/index.js';
import { SignalWirePeerSimulator } from '../src/testing.js';

// SignalWire's `<Stream codec="L16@16000h">` page names the codec and `audio/x-L16`, but not the
// byte order of the samples, and @signalwire/compatibility-api has no media-stream code at all.
// The dialect therefore reads little-endian by default (what it has always done, so calls that
// work today keep working) and takes `l16ByteOrder: 'big-endian'` for a stream that turns out
// to carry RTP's network byte order.

const STREAM = '7d56cc11-536d-4a45-b4fb-ed3d55be843b';
const CALL = '76ac3c36-56da-4a3e-a0d6-b5f8df6da9ad';
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
const AMPLITUDE = 8000;

/** A 440 Hz sine of `count` samples at `rate`, starting at sample `from` (so chunks join up). */
function sine(rate: number, count: number, from = 0): Int16Array {
  return Int16Array.from({ length: count }, (_, i) =>
    Math.round(AMPLITUDE * Math.sin((2 * Math.PI * 440 * (from + i)) / rate)),
  );
}

/** Samples written with an explicit byte order (DataView), independent of the code under test. */
function samplesToBytes(samples: Int16Array, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  samples.forEach((s, i) => view.setInt16(i * 2, s, littleEndian));
  return out;
}

function bytesToSamples(bytes: Uint8Array, littleEndian: boolean): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int16Array.from({ length: bytes.byteLength >> 1 }, (_, i) => view.getInt16(i * 2, littleEndian));
}

/** The largest jump between neighbouring samples: small for a 440 Hz tone, huge for byte-swapped noise. */
function maxStep(samples: Int16Array): number {
  let step = 0;
  for (let i = 1; i < samples.length; i++) step = Math.max(step, Math.abs(samples[i]! - samples[i - 1]!));
  return step;
}

function peak(samples: Int16Array): number {
  return samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0);
}

const start = (sampleRate = 16000, encoding = 'audio/x-L16') =>
  JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    start: {
      streamSid: STREAM,
      accountSid: 'b08dacad-2f6c-4de1-93d6-cc732e0c69c5',
      callSid: CALL,
      tracks: ['inbound'],
      mediaFormat: { encoding, sampleRate, channels: 1 },
    },
  });
const media = (payload: Uint8Array) =>
  JSON.stringify({
    event: 'media',
    sequenceNumber: '2',
    media: { track: 'inbound', chunk: '1', timestamp: '0', payload: base64Encode(payload) },
    streamSid: STREAM,
  });

function started(
  options: ConstructorParameters<typeof TwilioMediaStreamProtocol>[0],
  startFrame = start(),
): TwilioMediaStreamProtocol {
  const protocol = new TwilioMediaStreamProtocol(options);
  protocol.decode(startFrame);
  return protocol;
}

function decodeAudio(protocol: TwilioMediaStreamProtocol, payload: Uint8Array): Extract<CallEvent, { type: 'audio' }> {
  const [event] = protocol.decode(media(payload));
  if (event?.type !== 'audio') throw new Error(`expected audio, got ${event?.type}`);
  return event;
}

function encodedPayload(protocol: TwilioMediaStreamProtocol, payload: Uint8Array): Uint8Array {
  const [frame] = protocol.encode({ type: 'audio', payload });
  return base64Decode((JSON.parse(frame as string) as { media: { payload: string } }).media.payload);
}

describe('SignalWire L16 byte order (l16ByteOrder)', () => {
  // 20 ms of a 440 Hz tone at 16 kHz.
  const tone = sine(16000, 320);
  const bigEndian = samplesToBytes(tone, false);
  const littleEndian = samplesToBytes(tone, true);

  it('reads a big-endian L16 16 kHz stream as the tone it carries with l16ByteOrder: big-endian', () => {
    const audio = decodeAudio(started({ dialect: 'signalwire', l16ByteOrder: 'big-endian' }), bigEndian);
    expect(audio.payload).toEqual(littleEndian);
    expect([...pcm16FromBytes(audio.payload)]).toEqual([...tone]);
    // The wire's base64 holds the big-endian bytes, so it is not offered as the payload's.
    expect(audio.payloadBase64).toBeUndefined();
  });

  it('reads the same stream as byte-swapped noise without the option: the default is little-endian', () => {
    const protocol = started({ dialect: 'signalwire' });
    const audio = decodeAudio(protocol, bigEndian);
    expect(audio.payload).toEqual(bigEndian);
    const heard = pcm16FromBytes(audio.payload);
    expect(maxStep(tone)).toBeLessThan(1500);
    expect(maxStep(heard)).toBeGreaterThan(10_000);
    expect([...heard]).not.toEqual([...tone]);
    // A little-endian stream, what the default expects, passes through untouched.
    expect(decodeAudio(protocol, littleEndian)).toMatchObject({
      payload: littleEndian,
      payloadBase64: base64Encode(littleEndian),
    });
  });

  it('sends the model’s little-endian audio back big-endian with the option, unchanged without it', () => {
    expect(encodedPayload(started({ dialect: 'signalwire', l16ByteOrder: 'big-endian' }), littleEndian)).toEqual(
      bigEndian,
    );
    expect(encodedPayload(started({ dialect: 'signalwire', l16ByteOrder: 'little-endian' }), littleEndian)).toEqual(
      littleEndian,
    );
    expect(encodedPayload(started({ dialect: 'signalwire' }), littleEndian)).toEqual(littleEndian);
  });

  it('leaves μ-law streams alone whatever the option says', () => {
    const mulaw = new Uint8Array(160).map((_, i) => (i * 37) & 0xff);
    const protocol = started({ dialect: 'signalwire', l16ByteOrder: 'big-endian' }, start(8000, 'audio/x-mulaw'));
    expect(decodeAudio(protocol, mulaw).payload).toEqual(mulaw);
    expect(encodedPayload(protocol, mulaw)).toEqual(mulaw);
  });

  it('refuses a byte order it does not know, and big-endian for Twilio (which never streams L16), with a ConfigError', () => {
    expect(() => new TwilioMediaStreamProtocol({ dialect: 'signalwire', l16ByteOrder: 'middle' as never })).toThrow(
      ConfigError,
    );
    expect(() => new TwilioMediaStreamProtocol({ dialect: 'signalwire', l16ByteOrder: 'middle' as never })).toThrow(
      /l16ByteOrder/,
    );
    expect(() => new TwilioMediaStreamProtocol({ l16ByteOrder: 'big-endian' })).toThrow(ConfigError);
    expect(() => new TwilioMediaStreamProtocol({ dialect: 'twilio', l16ByteOrder: 'big-endian' })).toThrow(
      /signalwire/,
    );
    expect(new TwilioMediaStreamProtocol({ dialect: 'twilio', l16ByteOrder: 'little-endian' }).name).toBe('twilio');
    expect(() => new SignalWirePeerSimulator({ l16ByteOrder: 'BE' as never })).toThrow(ConfigError);
    const carrier = new FakeCarrier();
    expect(
      () => new SignalWireRealtimeTransport({ signalwireWebSocket: carrier, l16ByteOrder: 'network' as never }),
    ).toThrow(ConfigError);
    expect(() => new TwilioRealtimeTransport({ twilioWebSocket: carrier, l16ByteOrder: 'big-endian' })).toThrow(
      ConfigError,
    );
  });

  it('the peer simulator puts big-endian samples on the wire and hands back little-endian ones', () => {
    const peer = new SignalWirePeerSimulator({
      format: L16_16K,
      l16ByteOrder: 'big-endian',
      streamSid: STREAM,
      callSid: CALL,
    });
    peer.encodeInbound({
      type: 'call_start',
      streamId: STREAM,
      callId: CALL,
      format: L16_16K,
      customParameters: {},
      raw: null,
    });
    const [frame] = peer.encodeInbound({ type: 'audio', payload: littleEndian });
    expect(base64Decode((JSON.parse(frame as string) as { media: { payload: string } }).media.payload)).toEqual(
      bigEndian,
    );
    const bridged = started({ dialect: 'signalwire', l16ByteOrder: 'big-endian' }).encode({
      type: 'audio',
      payload: littleEndian,
    });
    expect(peer.decodeOutbound(bridged[0]!)).toEqual([{ type: 'audio', payload: littleEndian }]);
  });

  it('swapBytes16 (core) swaps each sample into a new array and copies a trailing odd byte', () => {
    const bytes = Uint8Array.of(1, 2, 3, 4, 5);
    const swapped = swapBytes16(bytes);
    expect([...swapped]).toEqual([2, 1, 4, 3, 5]);
    expect(swapped).not.toBe(bytes);
    expect([...bytes]).toEqual([1, 2, 3, 4, 5]);
    expect(swapBytes16(swapBytes16(bigEndian))).toEqual(bigEndian);
  });
});

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<SignalWireRealtimeTransportOptions> = {}) =>
    new SignalWireRealtimeTransport({
      signalwireWebSocket: carrier,
      url,
      inputAudioInactivityTimeoutMs: null,
      ...options,
    }),
);

describe('SignalWireRealtimeTransport with l16ByteOrder: big-endian', () => {
  it('bridges a big-endian L16 16 kHz stream: the model hears the tone, the caller gets the model’s tone big-endian', async () => {
    const t = rig.make({ l16ByteOrder: 'big-endian' });
    const peer = new SignalWirePeerSimulator({ format: L16_16K, l16ByteOrder: 'big-endian' });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, {
      type: 'call_start',
      streamId: STREAM,
      callId: CALL,
      format: L16_16K,
      customParameters: {},
      raw: null,
    });
    await until(() => t.callStart !== undefined);
    expect(t.modelAudioFormat).toEqual({ type: 'audio/pcm', rate: 24000 });

    // 200 ms of the tone, 20 ms per frame, as little-endian events the peer sends big-endian.
    for (let i = 0; i < 10; i++)
      rig.send(peer, { type: 'audio', payload: samplesToBytes(sine(16000, 320, i * 320), true) });
    await until(() => rig.model.inputAudio().byteLength >= 9000, 20_000);
    // Resampled to 24 kHz: still a smooth 440 Hz tone at full level (byte-swapped input would jump by tens of
    // thousands).
    const heard = pcm16FromBytes(rig.model.inputAudio()).subarray(64);
    expect(peak(heard)).toBeGreaterThan(AMPLITUDE * 0.8);
    expect(peak(heard)).toBeLessThan(AMPLITUDE * 1.2);
    expect(maxStep(heard)).toBeLessThan(1500);

    // 100 ms of the tone from the model at 24 kHz goes to SignalWire big-endian at 16 kHz.
    rig.model.respond('resp_1', 'item_1', [samplesToBytes(sine(24000, 2400), true)], { done: false });
    // The audio goes out ahead of the mark that follows it.
    await until(() => rig.carrier.sent.some((f) => typeof f === 'string' && f.startsWith('{"event":"mark"')), 20_000);
    const mediaFrames = rig.carrier.sent.filter(
      (f): f is string => typeof f === 'string' && f.startsWith('{"event":"media"'),
    );
    const onWire = concatBytes(
      mediaFrames.map((f) => base64Decode((JSON.parse(f) as { media: { payload: string } }).media.payload)),
    );
    expect(onWire.byteLength).toBeGreaterThan(2000);
    const wireTone = bytesToSamples(onWire, false).subarray(64);
    expect(peak(wireTone)).toBeGreaterThan(AMPLITUDE * 0.8);
    expect(maxStep(wireTone)).toBeLessThan(1500);
    expect(maxStep(bytesToSamples(onWire, true).subarray(64))).toBeGreaterThan(10_000);

    // The peer hands the same audio back little-endian.
    const decoded = mediaFrames
      .flatMap((f) => peer.decodeOutbound(f))
      .filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');
    expect(concatBytes(decoded.map((c) => c.payload))).toEqual(swapBytes16(onWire));
  });
});
