import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@switchboard/core';
import { EXOTEL_MAX_PAYLOAD } from '../src/index.js';
import { ExotelPeerSimulator } from '../src/testing.js';
import { expectMaxPayloadHolds, frameBytes } from '@switchboard/conformance/testing';

describe('EXOTEL_MAX_PAYLOAD', () => {
  it('is 256 KiB, lets Exotel’s largest chunk (100 KB of audio) through and closes a socket sending more with 1009', async () => {
    expect(EXOTEL_MAX_PAYLOAD).toBe(262_144);
    const peer = new ExotelPeerSimulator({ sampleRate: 24000 });
    const start: CallEvent = {
      type: 'call_start',
      callId: 'c'.repeat(32),
      streamId: 's'.repeat(32),
      format: peer.format,
      customParameters: { a: 'v'.repeat(80), b: 'v'.repeat(80), c: 'v'.repeat(80) },
      from: '+919876543210',
      to: '+918012345678',
      raw: undefined,
    };
    const opening = peer.encodeInbound(start);
    // Exotel's largest chunk: 100 KiB of slin, base64 in JSON.
    const largest = peer.encodeInbound({ type: 'audio', payload: new Uint8Array(100 * 1024) });
    expect(largest).toHaveLength(1);
    expect(frameBytes(largest[0]!)).toBeGreaterThan(136_000);
    await expectMaxPayloadHolds(EXOTEL_MAX_PAYLOAD, [...opening, ...largest]);
  });
});
