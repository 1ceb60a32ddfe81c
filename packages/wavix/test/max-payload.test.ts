import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@switchboard/core';
import { expectMaxPayloadHolds, frameBytes } from '@switchboard/conformance/testing';
import { WAVIX_MAX_PAYLOAD } from '../src/index.js';
import { WavixPeerSimulator } from '../src/testing.js';

describe('WAVIX_MAX_PAYLOAD', () => {
  it('is 256 KiB, lets 2.5 s of audio in one message through and closes a socket sending more with 1009', async () => {
    expect(WAVIX_MAX_PAYLOAD).toBe(262_144);
    const peer = new WavixPeerSimulator();
    const start: CallEvent = {
      type: 'call_start',
      callId: 'c'.repeat(36),
      streamId: 's'.repeat(36),
      format: peer.format,
      customParameters: {},
      raw: undefined,
    };
    const opening = peer.encodeInbound(start);
    // Wavix sends 20 ms (960 bytes) a message; 2.5 s in one is far beyond that, and still fits.
    const largest = peer.encodeInbound({ type: 'audio', payload: new Uint8Array(2500 * 48) });
    expect(largest).toHaveLength(1);
    expect(frameBytes(largest[0]!)).toBeGreaterThan(160_000);
    await expectMaxPayloadHolds(WAVIX_MAX_PAYLOAD, [...opening, ...largest]);
  });
});
