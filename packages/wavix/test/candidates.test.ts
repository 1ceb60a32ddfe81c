import {
  OTHER_CARRIER_FIRST_FRAMES,
  peerOpeningFrames,
  protocolCandidateCases,
} from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import { detectProtocol, type CallEvent, type ProtocolCandidate } from '@switchboard/core';
import { exotelCandidate } from '@switchboard/exotel';
import { ExotelPeerSimulator } from '@switchboard/exotel/testing';
import { plivoCandidate } from '@switchboard/plivo';
import { PlivoPeerSimulator } from '@switchboard/plivo/testing';
import { telnyxCandidate } from '@switchboard/telnyx';
import { TelnyxPeerSimulator } from '@switchboard/telnyx/testing';
import { signalwireCandidate, twilioCandidate } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { rawWebSocketCandidates } from '@switchboard/websocket';
import { wavixCandidate } from '../src/index.js';
import { WavixPeerSimulator } from '../src/testing.js';

const start: Extract<CallEvent, { type: 'call_start' }> = {
  type: 'call_start',
  streamId: '123e4567-e89b-12d3-a456-426614174000',
  callId: '5dccb6b0-f35c-488c-867b-86fb012c4415',
  format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
  customParameters: {},
  raw: null,
};

/** Wavix's opening frames and a media frame, as its peer writes them. */
function wavixFrames(): string[] {
  const peer = new WavixPeerSimulator();
  return [...peer.encodeInbound(start), ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(960) })].map(
    String,
  );
}

/** The opening frames (and a media frame) of the other carriers whose peers write JSON. */
function otherFrames(): string[] {
  const mulaw = { ...start, format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 } } as const;
  const peers = [
    new TwilioPeerSimulator(),
    new TelnyxPeerSimulator(),
    new PlivoPeerSimulator(),
    new ExotelPeerSimulator(),
  ];
  return peerOpeningFrames(peers, mulaw);
}

// Recognises its own opening frames; leaves alone a Vonage frame whose NCCO headers carry a
// "stream_id" header, other carriers' first frames, binary frames and junk.
describe('wavixCandidate', () => {
  it.each(
    protocolCandidateCases(wavixCandidate, {
      peer: new WavixPeerSimulator(),
      streamIdField: 'stream_id',
      start,
      otherFirstFrames: [...OTHER_CARRIER_FIRST_FRAMES, ...otherFrames()],
    }),
  )('%s', (_title, check) => check());

  it('claims every frame of a Wavix stream, connected included', () => {
    for (const frame of wavixFrames()) expect(wavixCandidate.matches(frame), frame).toBe(true);
  });

  it('is claimed by no other carrier, on its first frame or a later one', () => {
    const others: ProtocolCandidate[] = [
      twilioCandidate,
      signalwireCandidate,
      telnyxCandidate,
      plivoCandidate,
      exotelCandidate,
      ...rawWebSocketCandidates,
    ];
    const [connected, ...later] = wavixFrames();
    for (const candidate of others) expect(candidate.matches(connected!), candidate.name).toBe(false);
    // Telnyx's frames also carry a top-level stream_id, but never Wavix's event_time.
    const claimers = others.filter((candidate) => later.some((frame) => candidate.matches(frame)));
    expect(claimers.map((c) => c.name)).toEqual([]);
    for (const frame of later) expect(detectProtocol(frame, [wavixCandidate, ...others])).toBe(wavixCandidate);
  });
});
