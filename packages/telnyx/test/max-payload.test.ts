import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@switchboard/core';
import { TELNYX_MAX_PAYLOAD } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';
import { expectMaxPayloadHolds } from '@switchboard/conformance/testing';

describe('TELNYX_MAX_PAYLOAD', () => {
  it('is 64 KiB, lets Telnyx’s largest messages through and closes a socket sending more with 1009', async () => {
    expect(TELNYX_MAX_PAYLOAD).toBe(65_536);
    const peer = new TelnyxPeerSimulator();
    const start: CallEvent = {
      type: 'call_start',
      callId: 'v3:' + 'c'.repeat(60),
      streamId: '32de0dea-53cb-4b21-89a4-9e1819c043bc',
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
      customParameters: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v'.repeat(200)])),
      from: '+15551230000',
      to: '+15557654321',
      raw: undefined,
    };
    // 100 ms of L16 16 kHz in one frame: five times a 20 ms frame.
    const frames = [
      ...peer.encodeInbound(start),
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(3200) }),
    ];
    await expectMaxPayloadHolds(TELNYX_MAX_PAYLOAD, frames);
  });
});
