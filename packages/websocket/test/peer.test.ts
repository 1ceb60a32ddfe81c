import {
  ConfigError,
  ProtocolError,
  decodeMuLaw,
  encodeMuLaw,
  pcm16FromBytes,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { RawWebSocketProtocol, type RawWebSocketPresetName } from '../src/index.js';
import { RawWebSocketPeerSimulator, conformance } from '../src/testing.js';

const PCMU: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const L16 = (sampleRate: number): AudioFormat => ({ encoding: 'l16', sampleRate, channels: 1 });

const start = (format: AudioFormat): Extract<CallEvent, { type: 'call_start' }> => ({
  type: 'call_start',
  streamId: 'MZ00000000000000000000000000000001',
  callId: 'CA00000000000000000000000000000001',
  format,
  customParameters: { caller: '+15551230000', campaign: 'demo' },
  raw: null,
});

/** Everything the bridge's protocol decodes from the frames the peer sends for `events`. */
function carrierToBridge(
  peer: RawWebSocketPeerSimulator,
  protocol: RawWebSocketProtocol,
  events: CallEvent[],
): CallEvent[] {
  return events.flatMap((event) => peer.encodeInbound(event)).flatMap((frame) => protocol.decode(frame));
}

/** Everything the peer decodes from the frames the bridge's protocol sends for `commands`. */
function bridgeToCarrier(
  peer: RawWebSocketPeerSimulator,
  protocol: RawWebSocketProtocol,
  commands: OutboundCommand[],
): OutboundCommand[] {
  return commands.flatMap((command) => protocol.encode(command)).flatMap((frame) => peer.decodeOutbound(frame));
}

/** 20 ms of a 400 Hz tone at 8 kHz, μ-law, starting at sample `offset`. */
function toneFrame(offset: number): Uint8Array {
  const samples = new Int16Array(160);
  for (let i = 0; i < 160; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 400 * (offset + i)) / 8000));
  return encodeMuLaw(samples);
}

function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

describe.each<{
  preset: RawWebSocketPresetName;
  format: AudioFormat;
  json?: boolean;
  controls: OutboundCommand[];
  events: CallEvent[];
}>([
  {
    preset: 'vonage',
    format: L16(16000),
    controls: [{ type: 'clear' }, { type: 'mark', name: 'sb0.1' }],
    events: [
      { type: 'dtmf', digit: '5', durationMs: 260 },
      { type: 'playback_ack', name: 'sb0.1' },
      { type: 'playback_cleared' },
    ],
  },
  {
    preset: 'asterisk',
    format: PCMU,
    controls: [{ type: 'clear' }, { type: 'hangup' }],
    events: [
      { type: 'dtmf', digit: '7' },
      { type: 'flow_control', paused: true },
      { type: 'flow_control', paused: false },
    ],
  },
  {
    preset: 'asterisk',
    format: L16(16000),
    json: true,
    controls: [{ type: 'clear' }, { type: 'hangup' }],
    events: [
      { type: 'dtmf', digit: '#' },
      { type: 'flow_control', paused: true },
    ],
  },
  {
    preset: 'jambonz',
    format: L16(8000),
    controls: [{ type: 'clear' }, { type: 'hangup' }],
    events: [{ type: 'dtmf', digit: '3', durationMs: 200 }],
  },
  {
    preset: 'generic',
    format: L16(24000),
    controls: [{ type: 'clear' }, { type: 'mark', name: 'sb1.4' }, { type: 'hangup' }, { type: 'dtmf', digits: '12#' }],
    events: [
      { type: 'dtmf', digit: '1', durationMs: 90 },
      { type: 'playback_ack', name: 'sb1.4' },
      { type: 'playback_cleared' },
      { type: 'call_end', reason: 'hangup' },
    ],
  },
])('$preset peer, $format', ({ preset, format, json, controls, events }) => {
  const setup = () => {
    const peer = new RawWebSocketPeerSimulator({ preset, format, json });
    const protocol = new RawWebSocketProtocol({ preset, format });
    return { peer, protocol };
  };

  it('announces the call in the wire format, with its call id', () => {
    const { peer, protocol } = setup();
    const [event] = carrierToBridge(peer, protocol, [start(PCMU)]);
    expect(event).toMatchObject({ type: 'call_start', format, callId: 'CA00000000000000000000000000000001' });
    expect(protocol.started).toBe(true);
    expect(peer.format).toEqual(format);
  });

  it('round-trips its control events', () => {
    const { peer, protocol } = setup();
    carrierToBridge(peer, protocol, [start(format)]);
    expect(carrierToBridge(peer, protocol, events)).toEqual(events);
  });

  it('reads the bridge’s control messages back as the same commands', () => {
    const { peer, protocol } = setup();
    carrierToBridge(peer, protocol, [start(format)]);
    expect(bridgeToCarrier(peer, protocol, controls)).toEqual(controls);
  });

  it('round-trips audio, frame by frame', () => {
    const { peer, protocol } = setup();
    carrierToBridge(peer, protocol, [start(format)]);
    const size = (format.sampleRate / 50) * (format.encoding === 'l16' ? 2 : 1);
    const payload = new Uint8Array(size * 2).map((_, i) => i & 0xfe);
    const inbound = carrierToBridge(peer, protocol, [{ type: 'audio', payload }]);
    expect(inbound.map((e) => (e as { payload: Uint8Array }).payload.byteLength)).toEqual([size, size]);
    const outbound = bridgeToCarrier(peer, protocol, [{ type: 'audio', payload }]);
    expect(outbound).toEqual([
      { type: 'audio', payload: payload.subarray(0, size) },
      { type: 'audio', payload: payload.subarray(size) },
    ]);
  });
});

describe('RawWebSocketPeerSimulator', () => {
  it('converts μ-law 8 kHz input audio into the wire format, keeping the level', () => {
    const peer = new RawWebSocketPeerSimulator({ preset: 'vonage', format: L16(16000), inputFormat: PCMU });
    peer.encodeInbound(start(PCMU));
    const frames = Array.from({ length: 20 }, (_, i) =>
      peer.encodeInbound({ type: 'audio', payload: toneFrame(i * 160) }),
    );
    expect(frames.every((f) => f.length === 1 && (f[0] as Uint8Array).byteLength === 640)).toBe(true);
    const converted = frames.slice(2).map((f) => pcm16FromBytes(f[0] as Uint8Array));
    const level = rms(Int16Array.from(converted.flatMap((s) => Array.from(s))));
    const original = rms(decodeMuLaw(toneFrame(0)));
    expect(level).toBeGreaterThan(original * 0.9);
    expect(level).toBeLessThan(original * 1.1);
  });

  it('fills a timestamp gap with silence, as a gateway’s continuous stream does', () => {
    const peer = new RawWebSocketPeerSimulator({ preset: 'jambonz', format: L16(8000), inputFormat: PCMU });
    peer.encodeInbound(start(PCMU));
    expect(peer.encodeInbound({ type: 'audio', payload: toneFrame(0), timestampMs: 0 })).toHaveLength(1);
    const afterGap = peer.encodeInbound({ type: 'audio', payload: toneFrame(160), timestampMs: 100 });
    expect(afterGap.map((f) => (f as Uint8Array).byteLength)).toEqual([320, 320, 320, 320, 320]);
    expect(pcm16FromBytes(afterGap[1] as Uint8Array).every((s) => Math.abs(s) < 64)).toBe(true);
    const noPad = new RawWebSocketPeerSimulator({
      preset: 'jambonz',
      format: L16(8000),
      inputFormat: PCMU,
      padGaps: false,
    });
    noPad.encodeInbound(start(PCMU));
    noPad.encodeInbound({ type: 'audio', payload: toneFrame(0), timestampMs: 0 });
    expect(noPad.encodeInbound({ type: 'audio', payload: toneFrame(160), timestampMs: 100 })).toHaveLength(1);
  });

  it('refuses what the carrier would refuse', () => {
    const vonage = new RawWebSocketPeerSimulator({ preset: 'vonage' });
    expect(() => vonage.decodeOutbound('{"action":"talk","payload":{}}')).toThrow(ProtocolError);
    expect(() => vonage.decodeOutbound(new Uint8Array(641))).toThrow(/2 bytes per sample/);
    expect(() => vonage.encodeInbound(start(PCMU))).toThrow(ConfigError);

    const asterisk = new RawWebSocketPeerSimulator({ preset: 'asterisk', json: true });
    expect(() => asterisk.decodeOutbound('FLUSH_MEDIA')).toThrow(/plain-text command on a JSON channel/);
    expect(asterisk.decodeOutbound('{"command":"FLUSH_MEDIA"}')).toEqual([{ type: 'clear' }]);
    expect(() => asterisk.decodeOutbound(new Uint8Array(65501))).toThrow(/65500-byte limit/);

    expect(() => new RawWebSocketPeerSimulator({ preset: 'jambonz' }).decodeOutbound('{"type":"playAudio"}')).toThrow(
      ProtocolError,
    );
    expect(() =>
      new RawWebSocketPeerSimulator({ preset: 'generic' }).decodeOutbound('{"type":"dtmf","digits":"x"}'),
    ).toThrow(/digits/);
  });

  it('sends the jambonz metadata frame and Asterisk’s plain-text MEDIA_START as the carriers do', () => {
    const jambonz = new RawWebSocketPeerSimulator({ preset: 'jambonz', format: L16(16000) });
    expect(JSON.parse(jambonz.encodeInbound(start(PCMU))[0] as string)).toEqual({
      callSid: 'CA00000000000000000000000000000001',
      caller: '+15551230000',
      campaign: 'demo',
      sampleRate: 16000,
      mixType: 'mono',
    });
    const asterisk = new RawWebSocketPeerSimulator({ preset: 'asterisk', format: L16(16000) });
    expect(asterisk.encodeInbound(start(PCMU))).toEqual([
      'MEDIA_START connection_id:MZ00000000000000000000000000000001 channel:CA00000000000000000000000000000001 format:slin16 optimal_frame_size:640 ptime:20',
    ]);
  });
});

describe('conformance', () => {
  it('exports one adapter per preset, each with its carrier format', () => {
    expect(conformance.map((a) => [a.name, a.carrierFormat])).toEqual([
      ['websocket/vonage', L16(16000)],
      ['websocket/asterisk', PCMU],
      ['websocket/jambonz', L16(8000)],
      ['websocket/generic', L16(24000)],
    ]);
    expect(conformance.every((a) => a.twilioFrames !== true)).toBe(true);
  });

  it('gives peers that turn the traces’ μ-law into the carrier format and read audio in it', () => {
    for (const adapter of conformance) {
      const peer = adapter.createPeerSimulator();
      const format = adapter.carrierFormat!;
      const protocol = new RawWebSocketProtocol({
        preset: adapter.name.split('/')[1] as RawWebSocketPresetName,
        format,
      });
      const events = carrierToBridge(peer as RawWebSocketPeerSimulator, protocol, [
        start(PCMU),
        { type: 'audio', payload: toneFrame(0) },
      ]);
      expect(events[0]).toMatchObject({ type: 'call_start', format });
      const bytes = (format.sampleRate / 50) * (format.encoding === 'l16' ? 2 : 1);
      expect((events[1] as { payload: Uint8Array }).payload.byteLength).toBe(bytes);
      const out = new Uint8Array(bytes);
      expect(peer.decodeOutbound(protocol.encode({ type: 'audio', payload: out })[0]!)).toEqual([
        { type: 'audio', payload: out },
      ]);
    }
  });
});
