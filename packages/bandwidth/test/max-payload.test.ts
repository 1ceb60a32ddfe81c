import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@switchboard/core';
import { expectMaxPayloadHolds, frameBytes } from '@switchboard/conformance/testing';
import { BANDWIDTH_MAX_PAYLOAD } from '../src/index.js';
import { BandwidthPeerSimulator } from '../src/testing.js';

describe('BANDWIDTH_MAX_PAYLOAD', () => {
  it('is 256 KiB, lets the largest start (12 params of the longest names and values, escaped) through and closes a socket sending more with 1009', async () => {
    expect(BANDWIDTH_MAX_PAYLOAD).toBe(262_144);
    const peer = new BandwidthPeerSimulator();
    // Control characters are written as \u00XX: six characters for one.
    const params = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`${i}`.padEnd(256, 'n'), '\u0001'.repeat(2048)]),
    );
    const start: CallEvent = {
      type: 'call_start',
      callId: `c-${'c'.repeat(36)}`,
      streamId: `s-${'s'.repeat(36)}`,
      format: peer.format,
      customParameters: params,
      raw: undefined,
    };
    const opening = peer.encodeInbound(start);
    expect(frameBytes(opening[0]!)).toBeGreaterThan(150_000);
    await expectMaxPayloadHolds(BANDWIDTH_MAX_PAYLOAD, [
      ...opening,
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160) }),
    ]);
  });
});
