import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@switchboard/core';
import { PLIVO_MAX_PAYLOAD } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';
import { expectMaxPayloadHolds } from '@switchboard/conformance/testing';

describe('PLIVO_MAX_PAYLOAD', () => {
  it('is 64 KiB, lets Plivo’s largest messages through and closes a socket sending more with 1009', async () => {
    expect(PLIVO_MAX_PAYLOAD).toBe(65_536);
    const peer = new PlivoPeerSimulator();
    const start: CallEvent = {
      type: 'call_start',
      callId: '97ceeb52-58b6-11e1-86da-77300b68f8bb',
      streamId: '20170ada-f610-433b-8758-c02a2aab3662',
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
      customParameters: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-PH-k${i}`, 'v'.repeat(200)])),
      raw: undefined,
    };
    // 100 ms of L16 16 kHz in one frame: five times a 20 ms chunk.
    const frames = [
      ...peer.encodeInbound(start),
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(3200) }),
    ];
    await expectMaxPayloadHolds(PLIVO_MAX_PAYLOAD, frames);
  });
});
