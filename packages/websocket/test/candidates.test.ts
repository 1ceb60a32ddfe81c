import { ConfigError, detectMediaProtocol, detectProtocol } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { FakeCarrier } from '@switchboard/conformance/testing';
import {
  RawWebSocketProtocol,
  asteriskCandidate,
  genericCandidate,
  jambonzCandidate,
  rawWebSocketCandidate,
  rawWebSocketCandidates,
  vonageCandidate,
} from '../src/index.js';

const FIRST_FRAMES = {
  vonage: JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000', uuid: 'u-1' }),
  // The first message's older form (developer.nexmo.com/voice/voice-api/guides/websockets): no "event".
  vonageLegacy: JSON.stringify({ app: 'demo', 'content-type': 'audio/l16;rate=16000' }),
  asterisk: 'MEDIA_START connection_id:c0ffee channel:PJSIP/alice-00000001 format:ulaw optimal_frame_size:160 ptime:20',
  asteriskJson: JSON.stringify({ event: 'MEDIA_START', connection_id: 'c0ffee', channel_id: 'ch-1', format: 'slin16' }),
  jambonz: JSON.stringify({
    callSid: 'js-1',
    from: '+15085551212',
    to: '+15085551313',
    direction: 'inbound',
    sampleRate: 8000,
    mixType: 'mono',
  }),
  generic: JSON.stringify({ type: 'start', streamId: 's-1', format: { encoding: 'l16', sampleRate: 16000 } }),
};

describe('raw WebSocket detection candidates', () => {
  it('recognise each gateway by its first frame, and only that gateway', () => {
    expect(detectProtocol(FIRST_FRAMES.vonage, rawWebSocketCandidates)?.name).toBe('vonage');
    expect(detectProtocol(FIRST_FRAMES.vonageLegacy, rawWebSocketCandidates)?.name).toBe('vonage');
    expect(detectProtocol(FIRST_FRAMES.asterisk, rawWebSocketCandidates)?.name).toBe('asterisk');
    expect(detectProtocol(FIRST_FRAMES.asteriskJson, rawWebSocketCandidates)?.name).toBe('asterisk');
    expect(detectProtocol(FIRST_FRAMES.jambonz, rawWebSocketCandidates)?.name).toBe('jambonz');
    expect(detectProtocol(FIRST_FRAMES.generic, rawWebSocketCandidates)?.name).toBe('generic');
    for (const frame of [
      JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }), // Twilio
      JSON.stringify({ event: 'dtmf', dtmf: '5', duration: '1600' }), // a later jambonz frame
      new Uint8Array(320),
      'HELLO',
    ]) {
      expect(detectProtocol(frame, rawWebSocketCandidates)).toBeUndefined();
    }
  });

  it('create a fresh protocol of the preset, with the options given', () => {
    for (const candidate of [vonageCandidate, asteriskCandidate, jambonzCandidate, genericCandidate]) {
      const protocol = candidate.create();
      expect(protocol).toBeInstanceOf(RawWebSocketProtocol);
      expect(protocol.name).toBe(candidate.name);
      expect(candidate.create()).not.toBe(protocol);
    }
    const custom = rawWebSocketCandidate('generic', {
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      leadMs: 500,
    }).create();
    expect(custom.defaultFormat.encoding).toBe('pcmu');
    expect(custom.capabilities.pacing).toEqual({ leadMs: 500 });
    expect(() => rawWebSocketCandidate('twilio' as 'generic')).toThrow(ConfigError);
    expect(() => rawWebSocketCandidate('generic', { frameMs: 0 })).toThrow(ConfigError);
  });

  it('the Vonage protocol starts the call on the older first message too, once', () => {
    const protocol = vonageCandidate.create();
    expect(protocol.decode(FIRST_FRAMES.vonageLegacy)).toEqual([
      expect.objectContaining({
        type: 'call_start',
        format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
        customParameters: { app: 'demo' },
      }),
    ]);
    // After the start, a message without an event is an error, as before.
    expect(() => protocol.decode(FIRST_FRAMES.vonageLegacy)).toThrow(/event/);
  });

  it('drive detectMediaProtocol: the Vonage start frame is replayed to the protocol’s transport', async () => {
    const carrier = new FakeCarrier();
    const detecting = detectMediaProtocol(carrier, rawWebSocketCandidates);
    carrier.deliver(FIRST_FRAMES.vonage);
    const { protocol, connection } = await detecting;
    expect(protocol.name).toBe('vonage');
    const decoded: unknown[] = [];
    connection.onMessage((frame) => decoded.push(...protocol.decode(frame)));
    await Promise.resolve();
    expect(decoded).toEqual([
      expect.objectContaining({
        type: 'call_start',
        callId: 'u-1',
        format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
      }),
    ]);
  });
});
