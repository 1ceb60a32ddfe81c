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
import { genesysCandidate } from '../src/index.js';
import { GenesysPeerSimulator } from '../src/testing.js';

const start: Extract<CallEvent, { type: 'call_start' }> = {
  type: 'call_start',
  streamId: 'e160e428-53e2-487c-977d-96989bf5c99d',
  callId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
  from: '+13175551234',
  to: '+13175559876',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: { intent: 'billing' },
  raw: null,
};

/** Genesys's first frames as its peer writes them: `open`, then (once opened) audio and a ping. */
function genesysFrames(): Array<string | Uint8Array> {
  const peer = new GenesysPeerSimulator({ pingEvery: 1 });
  const frames = peer.encodeInbound(start);
  const opened = `{"version":"2","type":"opened","seq":1,"clientseq":1,"id":"${start.streamId}","parameters":{"media":[{"type":"audio","format":"PCMU","channels":["external"],"rate":8000}],"startPaused":false}}`;
  peer.decodeOutbound(opened);
  return [...frames, ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160) })];
}

/** The opening frames (and a media frame) of the other carriers whose peers write JSON. */
function otherFrames(): string[] {
  const peers = [
    new TwilioPeerSimulator(),
    new TelnyxPeerSimulator(),
    new PlivoPeerSimulator(),
    new ExotelPeerSimulator(),
  ];
  return peerOpeningFrames(peers, start);
}

const OTHERS: readonly ProtocolCandidate[] = [
  twilioCandidate,
  signalwireCandidate,
  telnyxCandidate,
  plivoCandidate,
  exotelCandidate,
  ...rawWebSocketCandidates,
];

describe('genesysCandidate', () => {
  // The shared cases, but for the first: it looks for a frame naming "start", and Genesys's is `open`.
  const shared = protocolCandidateCases(genesysCandidate, {
    peer: new GenesysPeerSimulator(),
    streamIdField: 'id',
    start,
    otherFirstFrames: [...OTHER_CARRIER_FIRST_FRAMES, ...otherFrames()],
  }).slice(1);
  it.each(shared)('%s', (_title, check) => check());

  it('recognises Genesys’s open, and creates a protocol that starts the call from it', () => {
    const [open] = genesysFrames();
    expect(detectProtocol(open!, [...OTHERS, genesysCandidate])).toBe(genesysCandidate);
    const events = genesysCandidate.create().decode(open!);
    expect(events).toMatchObject([
      { type: 'call_start', streamId: start.streamId, callId: start.callId, customParameters: { intent: 'billing' } },
    ]);
  });

  it('is not claimed by any other carrier’s candidate, on any of its first frames', () => {
    for (const frame of genesysFrames())
      for (const other of OTHERS) expect(other.matches(frame), `${other.name} claims ${String(frame)}`).toBe(false);
  });

  it('does not claim a server message, or an open of another protocol version', () => {
    const [open] = genesysFrames();
    const value = JSON.parse(String(open)) as Record<string, unknown>;
    expect(genesysCandidate.matches(JSON.stringify({ ...value, version: '1' }))).toBe(false);
    expect(genesysCandidate.matches(JSON.stringify({ ...value, type: 'opened' }))).toBe(false);
    expect(genesysCandidate.matches(JSON.stringify({ ...value, serverseq: undefined }))).toBe(false);
  });
});
