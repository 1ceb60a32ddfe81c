import { describe, expect, it } from 'vitest';
import { AZURE_MAX_PAYLOAD } from '../src/index.js';
import { AzurePeerSimulator } from '../src/testing.js';
import { expectMaxPayloadHolds, frameBytes } from '@switchboard/conformance/testing';

describe('AZURE_MAX_PAYLOAD', () => {
  it('is 256 KiB, lets a 64 KB packet of audio through and closes a socket sending more with 1009', async () => {
    expect(AZURE_MAX_PAYLOAD).toBe(262_144);
    const peer = new AzurePeerSimulator({ sampleRate: 24000 });
    const opening = peer.encodeInbound({
      type: 'call_start',
      streamId: 's'.repeat(36),
      format: peer.format,
      customParameters: {},
      raw: undefined,
    });
    const largest = peer.encodeInbound({ type: 'audio', payload: new Uint8Array(64 * 1024).fill(1) });
    expect(frameBytes(largest[0]!)).toBeGreaterThan(87_000);
    await expectMaxPayloadHolds(AZURE_MAX_PAYLOAD, [...opening, ...largest]);
  });
});
