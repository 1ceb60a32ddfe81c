import { AssertionError } from 'node:assert';
import { ProtocolError, SwitchboardError, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { TwilioMediaStreamProtocol, twilioCandidate } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { describe, expect, it } from 'vitest';
import {
  expectProtocolError,
  malformedFrameCases,
  openCarrierSocket,
  peerOpeningFrames,
  protocolCandidateCases,
  startFakeRest,
  OTHER_CARRIER_FIRST_FRAMES,
} from '../src/testing/index.js';

const protocolError = (code?: string) =>
  new ProtocolError('acme', 'bad frame', { frame: '{"payload":"c2VjcmV0"}', ...(code ? { code } : {}) });

describe('expectProtocolError', () => {
  it('returns the ProtocolError when it matches', () => {
    const error = protocolError('acme_bad');
    expect(
      expectProtocolError(
        () => {
          throw error;
        },
        { provider: 'acme', code: 'acme_bad', secrets: 'sk-hidden' },
      ),
    ).toBe(error);
  });

  it('fails when nothing is thrown, or anything but a ProtocolError', () => {
    expect(() => expectProtocolError(() => 1)).toThrow(AssertionError);
    expect(() =>
      expectProtocolError(() => {
        throw new TypeError('boom');
      }),
    ).toThrow(/got TypeError: boom/);
    expect(() =>
      expectProtocolError(() => {
        throw new SwitchboardError('protocol_error', '[acme] x');
      }),
    ).toThrow(AssertionError);
    expect(() =>
      expectProtocolError(() => {
        throw 'a string';
      }),
    ).toThrow(AssertionError);
  });

  it('fails on another provider, another code, or a secret in the message or the excerpt', () => {
    const throwing = () => {
      throw protocolError();
    };
    expect(() => expectProtocolError(throwing, { provider: 'other' })).toThrow(/provider other/);
    expect(() => expectProtocolError(throwing, { code: 'acme_bad' })).toThrow(/code acme_bad/);
    expect(() => expectProtocolError(throwing, { secrets: 'bad frame' })).toThrow(/message/);
    expect(() => expectProtocolError(throwing, { secrets: ['x', 'c2VjcmV0'] })).toThrow(/excerpt/);
    const unprefixed = Object.assign(protocolError(), { message: 'no prefix' });
    expect(() =>
      expectProtocolError(
        () => {
          throw unprefixed;
        },
        { provider: 'acme' },
      ),
    ).toThrow(/begin with \[acme\]/);
  });
});

describe('malformedFrameCases', () => {
  it('gives one named case per row, expecting protocol_error unless the row names a code', () => {
    const cases = malformedFrameCases({
      provider: 'twilio',
      frames: [
        ['text that is not JSON', 'hello'],
        ['an accepted frame', '{"event":"connected"}'],
        ['a frame with the wrong code', 'hello', 'twilio_other'],
      ],
      decode: (frame) => new TwilioMediaStreamProtocol().decode(frame),
    });
    expect(cases.map(([name]) => name)).toEqual([
      'text that is not JSON',
      'an accepted frame',
      'a frame with the wrong code',
    ]);
    expect(cases[0]![1]()).toBeInstanceOf(ProtocolError);
    expect(() => cases[1]![1]()).toThrow(/nothing was thrown/);
    expect(() => cases[2]![1]()).toThrow(/code twilio_other/);
  });
});

describe('protocolCandidateCases', () => {
  const start = {
    type: 'call_start',
    streamId: 'MZ1',
    callId: 'CA1',
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: {},
    raw: null,
  } as const;
  const twilioFirstFrames = OTHER_CARRIER_FIRST_FRAMES.filter(
    (f) => !f.includes('"streamSid"') && !f.includes('"protocol":"Call"'),
  );

  it('passes for a candidate that claims only its own frames', () => {
    for (const [, check] of protocolCandidateCases(twilioCandidate, {
      peer: new TwilioPeerSimulator(),
      streamIdField: 'streamSid',
      start,
      otherFirstFrames: twilioFirstFrames,
    })) {
      check();
    }
  });

  it('fails for a candidate that claims everything, and for one that recognises nothing', () => {
    const greedy: ProtocolCandidate = {
      name: 'greedy',
      matches: () => true,
      create: () => new TwilioMediaStreamProtocol(),
    };
    const blind: ProtocolCandidate = {
      name: 'blind',
      matches: (_frame: MediaFrame) => false,
      create: () => new TwilioMediaStreamProtocol(),
    };
    const [recognises, vonage, others] = protocolCandidateCases(greedy, {
      peer: new TwilioPeerSimulator(),
      streamIdField: 'streamSid',
      start,
    });
    expect(() => recognises![1]()).not.toThrow();
    expect(() => vonage![1]()).toThrow(AssertionError);
    expect(() => others![1]()).toThrow(AssertionError);
    expect(vonage![0]).toBe('does not claim a Vonage first frame whose NCCO headers carry a "streamSid" header');
    const [blindRecognises] = protocolCandidateCases(blind, {
      peer: new TwilioPeerSimulator(),
      streamIdField: 'streamSid',
      start,
    });
    expect(() => blindRecognises![1]()).toThrow(/does not recognise/);
  });
});

describe('startFakeRest', () => {
  it('records every request and answers with the scripted reply', async () => {
    const rest = await startFakeRest();
    try {
      expect(rest.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const first = await fetch(`${rest.url}/v1/calls/1?x=y`, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: '{"a":1}',
      });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({});
      rest.reply = (request) =>
        request.method === 'DELETE'
          ? { status: 204 }
          : { status: 422, body: 'plain', headers: { 'x-request-id': 'r1' } };
      const second = await fetch(`${rest.url}/v1/calls/2`, { method: 'DELETE' });
      expect(second.status).toBe(204);
      expect(second.headers.get('content-type')).toBeNull();
      const third = await fetch(`${rest.url}/v1/calls/3`);
      expect([third.status, await third.text(), third.headers.get('x-request-id')]).toEqual([422, 'plain', 'r1']);
      expect(rest.requests.map((r) => [r.method, r.path, r.body])).toEqual([
        ['POST', '/v1/calls/1?x=y', '{"a":1}'],
        ['DELETE', '/v1/calls/2', ''],
        ['GET', '/v1/calls/3', ''],
      ]);
      expect(rest.requests[0]!.headers['authorization']).toBe('Bearer t');
    } finally {
      await rest.stop();
    }
  });
});

describe('openCarrierSocket', () => {
  it('connects a carrier to a bridge over loopback, both ways, and closes both ends', async () => {
    const pair = await openCarrierSocket('/media');
    expect(pair.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/media$/);
    const bridge = await pair.bridgeSide;
    const atBridge = new Promise<string>((resolve) => bridge.once('message', (data) => resolve(String(data))));
    const atCarrier = new Promise<string>((resolve) => pair.carrier.once('message', (data) => resolve(String(data))));
    pair.carrier.send('from carrier');
    bridge.send('from bridge');
    expect(await atBridge).toBe('from carrier');
    expect(await atCarrier).toBe('from bridge');
    const closed = new Promise<void>((resolve) => bridge.once('close', () => resolve()));
    await pair.close();
    await closed;
    expect(pair.carrier.readyState).toBe(pair.carrier.CLOSED);
  });
});

describe('peerOpeningFrames', () => {
  it('keeps the text frames each peer writes for the start and one chunk of audio, in order', () => {
    const start = {
      type: 'call_start',
      streamId: 'MZ1',
      callId: 'CA1',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: null,
    } as const;
    const sizes: number[] = [];
    const peer = (name: string): PeerSimulator => ({
      encodeInbound: (event) => {
        if (event.type === 'audio') sizes.push(event.payload.byteLength);
        return event.type === 'call_start' ? [`${name}:start`, Uint8Array.of(1)] : [`${name}:${event.type}`];
      },
      decodeOutbound: () => [],
    });
    expect(peerOpeningFrames([peer('a'), peer('b')], start, 320)).toEqual(['a:start', 'a:audio', 'b:start', 'b:audio']);
    expect(sizes).toEqual([320, 320]);
  });
});
