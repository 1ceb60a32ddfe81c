import { describe, expect, it } from 'vitest';
import { detectProtocol, type CallEvent, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import { protocolCandidateCases } from '@switchboard/conformance/testing';
import { exotelCandidate } from '@switchboard/exotel';
import { ExotelPeerSimulator } from '@switchboard/exotel/testing';
import { plivoCandidate } from '@switchboard/plivo';
import { PlivoPeerSimulator } from '@switchboard/plivo/testing';
import { telnyxCandidate } from '@switchboard/telnyx';
import { TelnyxPeerSimulator } from '@switchboard/telnyx/testing';
import { signalwireCandidate, twilioCandidate } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { rawWebSocketCandidates } from '@switchboard/websocket';
import { bandwidthCandidate } from '../src/index.js';
import { BandwidthPeerSimulator } from '../src/testing.js';

const START: Extract<CallEvent, { type: 'call_start' }> = {
  type: 'call_start',
  streamId: 'stream-1',
  callId: 'call-1',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: { lang: 'en' },
  raw: null,
};

/** The opening frames (through the start and one media frame) each carrier's own peer sends. */
function opening(peer: { encodeInbound(event: CallEvent): MediaFrame[] }): MediaFrame[] {
  return [...peer.encodeInbound(START), ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160) })];
}

const OTHERS: ReadonlyArray<[ProtocolCandidate, MediaFrame[]]> = [
  [twilioCandidate, opening(new TwilioPeerSimulator())],
  [signalwireCandidate, opening(new TwilioPeerSimulator())],
  [telnyxCandidate, opening(new TelnyxPeerSimulator())],
  [plivoCandidate, opening(new PlivoPeerSimulator())],
  [exotelCandidate, opening(new ExotelPeerSimulator({ mediaEncoding: 'mulaw' }))],
];

// Recognises its own start frame; leaves alone a Vonage frame whose NCCO headers carry a
// "streamId" header, other carriers' first frames, binary frames and junk.
describe('bandwidthCandidate', () => {
  it.each(
    protocolCandidateCases(bandwidthCandidate, { peer: new BandwidthPeerSimulator(), streamIdField: 'streamId' }),
  )('%s', (_title, check) => check());

  it('claims none of the first frames of Twilio, SignalWire, Telnyx, Plivo and Exotel as their peers send them', () => {
    for (const [, frames] of OTHERS) for (const frame of frames) expect(bandwidthCandidate.matches(frame)).toBe(false);
  });

  it('is claimed by no other carrier’s candidate, its start, media and stop frames included', () => {
    const peer = new BandwidthPeerSimulator({ tracks: 'both' });
    const frames = [...opening(peer), ...peer.encodeInbound({ type: 'call_end' })];
    const others = [...OTHERS.map(([candidate]) => candidate), ...rawWebSocketCandidates];
    for (const frame of frames) {
      for (const other of others) expect(other.matches(frame), `${other.name} claims ${String(frame)}`).toBe(false);
      expect(detectProtocol(frame, [...others, bandwidthCandidate])).toBe(
        String(frame).includes('"eventType":"start"') ? bandwidthCandidate : undefined,
      );
    }
  });
});
