import { describe, expect, it } from 'vitest';
import { ProtocolError, type AudioFormat, type MediaStreamProtocol } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { ExotelMediaStreamProtocol } from '@switchboard/exotel';
import { conformance as exotel } from '@switchboard/exotel/testing';
import { PlivoMediaStreamProtocol } from '@switchboard/plivo';
import { conformance as plivo } from '@switchboard/plivo/testing';
import { RtpMediaProtocol } from '@switchboard/sip';
import { conformance as sip } from '@switchboard/sip/testing';
import { TelnyxMediaStreamProtocol } from '@switchboard/telnyx';
import { conformance as telnyx } from '@switchboard/telnyx/testing';
import { TwilioMediaStreamProtocol } from '@switchboard/twilio';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { RawWebSocketProtocol } from '@switchboard/websocket';
import { conformance as websocket } from '@switchboard/websocket/testing';
import {
  CHECKS,
  DEFAULT_CHECK_OPTIONS,
  MALFORMED_BINARY_FRAMES,
  MALFORMED_JSON_FRAMES,
  describeMalformedFrame,
  malformedFramesFor,
  type ReplayResult,
} from '@switchboard/conformance';

const MULAW: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const L16: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };

/** Starts a call on `protocol` with what the peer sends for `call_start` and some audio. */
function started(peer: PeerSimulator, protocol: MediaStreamProtocol): MediaStreamProtocol {
  protocol.open?.();
  const start = peer.encodeInbound({
    type: 'call_start',
    streamId: 'stream-1',
    callId: 'call-1',
    format: MULAW,
    customParameters: {},
    raw: null,
  });
  const audio = peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(0xff) });
  for (const frame of [...start, ...audio]) protocol.decode(frame);
  return protocol;
}

// Every shipped adapter's peer names its own malformed frames, and its protocol refuses each.
const websocketProtocols = Object.fromEntries(
  websocket.map((adapter) => [
    adapter.name,
    () =>
      new RawWebSocketProtocol({
        preset: adapter.name.split('/')[1] as 'vonage',
        ...(adapter.carrierFormat ? { format: adapter.carrierFormat } : {}),
      }),
  ]),
);
const shipped = [
  { adapter: twilio, protocol: () => new TwilioMediaStreamProtocol() },
  { adapter: telnyx, protocol: () => new TelnyxMediaStreamProtocol() },
  { adapter: plivo, protocol: () => new PlivoMediaStreamProtocol() },
  { adapter: exotel, protocol: () => new ExotelMediaStreamProtocol() },
  { adapter: sip, protocol: () => new RtpMediaProtocol() },
  ...websocket.map((adapter) => ({ adapter, protocol: websocketProtocols[adapter.name]! })),
];

describe("each shipped adapter's malformed frames", () => {
  it.each(shipped.map((s) => [s.adapter.name, s] as const))(
    '%s: its peer has its own, and its protocol refuses each with a ProtocolError',
    (_name, { adapter, protocol }) => {
      const peer = adapter.createPeerSimulator();
      const protocolOfCall = started(peer, protocol());
      const frames = peer.malformedFrames?.() ?? [];
      expect(frames.length).toBeGreaterThan(0);
      for (const frame of frames) {
        let thrown: unknown;
        try {
          protocolOfCall.decode(frame);
        } catch (error) {
          thrown = error;
        }
        expect(thrown, describeMalformedFrame(frame)).toBeInstanceOf(ProtocolError);
      }
    },
  );
});

describe('the default malformed frames', () => {
  const bare: PeerSimulator = { encodeInbound: () => [], decodeOutbound: () => [] };

  it("takes the peer's own frames when it has them", () => {
    const own: PeerSimulator = { ...bare, malformedFrames: () => ['{"bad":true}', Uint8Array.of(1)] };
    expect(malformedFramesFor(own, { binary: false, format: MULAW })).toEqual(['{"bad":true}', Uint8Array.of(1)]);
  });

  it('chooses by whether the carrier is JSON or binary, with an odd-length frame for L16', () => {
    expect(malformedFramesFor(bare, { binary: false, format: L16 })).toEqual(MALFORMED_JSON_FRAMES);
    expect(malformedFramesFor(bare, { binary: true, format: MULAW })).toEqual(MALFORMED_BINARY_FRAMES);
    const l16 = malformedFramesFor(bare, { binary: true, format: L16 });
    expect(l16.slice(0, -1)).toEqual(MALFORMED_BINARY_FRAMES);
    expect((l16.at(-1) as Uint8Array).byteLength % 2).toBe(1);
  });
});

describe('errors.malformed names the frame that gave no ProtocolError', () => {
  const FRAMES: Array<string | Uint8Array> = [
    'not json',
    '{"event":"media","media":{"payload":"%%%"}}',
    Uint8Array.of(0x7b, 0x7d),
  ];

  function replay(errors: Array<{ at: number; frameExcerpt?: string }>): ReplayResult {
    return {
      emitted: errors.map(({ at, frameExcerpt }) => ({
        at,
        name: 'error',
        args: [
          {
            type: 'error',
            error: Object.assign(
              new ProtocolError('acme', 'malformed'),
              frameExcerpt === undefined ? {} : { frameExcerpt },
            ),
          },
        ],
      })),
      carrier: { malformedSent: FRAMES.length, malformed: FRAMES.map((frame, i) => ({ at: 1000 + i, frame })) },
      callEndedAt: 9000,
      lastFrameAt: 8000,
    } as unknown as ReplayResult;
  }
  const check = (result: ReplayResult) =>
    CHECKS.find((c) => c.id === 'errors.malformed')!.run(result, DEFAULT_CHECK_OPTIONS);

  it('passes when every frame gave one', () => {
    expect(check(replay([{ at: 1001 }, { at: 1002 }, { at: 1003 }]))).toEqual({
      status: 'pass',
      detail: '3 error event(s) for 3 malformed frame(s)',
    });
  });

  it('names the frame left without one, matched by the error’s frame excerpt', () => {
    const result = replay([
      { at: 1001, frameExcerpt: 'not json' },
      { at: 1003, frameExcerpt: '<binary 2 bytes>' },
    ]);
    expect(check(result)).toEqual({
      status: 'fail',
      detail:
        'malformed frame 2 of 3, "{\\"event\\":\\"media\\",\\"media\\":{\\"payload\\":\\"%%%\\"}}", gave no ProtocolError',
    });
  });

  it('matches errors without an excerpt in order, and names a binary frame by its bytes', () => {
    expect(check(replay([{ at: 1001 }, { at: 1002 }]))).toEqual({
      status: 'fail',
      detail: 'malformed frame 3 of 3, a binary frame of 2 bytes (7b 7d), gave no ProtocolError',
    });
    // An error from before the frames were sent answers something else.
    expect(check(replay([{ at: 10 }, { at: 1001 }, { at: 1002 }])).status).toBe('fail');
  });
});
