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
import { azureCandidate } from '../src/index.js';
import { AzurePeerSimulator } from '../src/testing.js';

const start: Extract<CallEvent, { type: 'call_start' }> = {
  type: 'call_start',
  streamId: '89e8cb59-b991-48b0-b154-1db84f16a077',
  callId: '18dea47f-b081-4107-9a5c-4300819d2c6c',
  format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
  customParameters: {},
  raw: null,
};

/** ACS's frames as its peer writes them: AudioMetadata, AudioData, DtmfData. */
function azureFrames(): string[] {
  const peer = new AzurePeerSimulator();
  return [
    ...peer.encodeInbound(start),
    ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(640).fill(1) }),
    ...peer.encodeInbound({ type: 'dtmf', digit: '5' }),
  ].map(String);
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

describe('azureCandidate', () => {
  it('recognises AudioMetadata, and detection picks it among every carrier’s candidates; its protocol starts the call', () => {
    const [metadata] = azureFrames();
    const candidates: ProtocolCandidate[] = [
      twilioCandidate,
      signalwireCandidate,
      telnyxCandidate,
      plivoCandidate,
      exotelCandidate,
      ...rawWebSocketCandidates,
      azureCandidate,
    ];
    expect(detectProtocol(metadata!, candidates)).toBe(azureCandidate);
    const events = azureCandidate.create().decode(metadata!);
    expect(events[0]).toMatchObject({ type: 'call_start', streamId: start.streamId });
  });

  it('recognises every frame ACS sends, and no frame without the body its kind names', () => {
    for (const frame of azureFrames()) expect(azureCandidate.matches(frame), frame).toBe(true);
    expect(azureCandidate.matches('{"kind":"AudioData"}')).toBe(false);
    expect(azureCandidate.matches('{"kind":"AudioMetadata","audioData":{}}')).toBe(false);
    expect(azureCandidate.matches('{"kind":"TranscriptionData","transcriptionData":{}}')).toBe(false);
    expect(azureCandidate.matches('{"kind":"toString","toString":{}}')).toBe(false);
  });

  it('is claimed by no other carrier’s candidate', () => {
    const others = [twilioCandidate, signalwireCandidate, telnyxCandidate, plivoCandidate, exotelCandidate];
    for (const frame of azureFrames()) {
      for (const other of [...others, ...rawWebSocketCandidates])
        expect(other.matches(frame), `${other.name} claims ${frame}`).toBe(false);
    }
  });

  // Leaves alone a Vonage frame whose NCCO headers carry a "kind" header, other carriers' first
  // frames, binary frames and junk (the first case, which looks for a "start" frame, is above).
  it.each(
    protocolCandidateCases(azureCandidate, {
      peer: new AzurePeerSimulator(),
      streamIdField: 'kind',
      start,
      otherFirstFrames: [...OTHER_CARRIER_FIRST_FRAMES, ...otherFrames()],
    }).slice(1),
  )('%s', (_title, check) => check());
});
