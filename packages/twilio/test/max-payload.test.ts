import { describe, expect, it } from 'vitest';
import type { AudioFormat, CallEvent } from '@switchboard/core';
import { SIGNALWIRE_MAX_PAYLOAD, TWILIO_MAX_PAYLOAD } from '../src/index.js';
import { SignalWirePeerSimulator, TwilioPeerSimulator } from '../src/testing.js';
import { expectMaxPayloadHolds } from '@switchboard/conformance/testing';

/** A call start with many long custom parameters, as a `<Stream>` with `<Parameter>`s sends it. */
function start(format: AudioFormat): CallEvent {
  const customParameters = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`param${i}`, 'v'.repeat(200)]));
  return {
    type: 'call_start',
    callId: 'CA' + '1'.repeat(32),
    streamId: 'MZ' + '1'.repeat(32),
    format,
    customParameters,
    raw: undefined,
  };
}

describe('TWILIO_MAX_PAYLOAD / SIGNALWIRE_MAX_PAYLOAD', () => {
  it('are 64 KiB', () => {
    expect(TWILIO_MAX_PAYLOAD).toBe(65_536);
    expect(SIGNALWIRE_MAX_PAYLOAD).toBe(65_536);
  });

  it('let Twilio’s largest messages through and close a socket sending more with 1009, the server serving the next one', async () => {
    const peer = new TwilioPeerSimulator();
    const frames = [
      ...peer.encodeInbound(start({ encoding: 'pcmu', sampleRate: 8000, channels: 1 })),
      // 100 ms of μ-law in one frame: five times what Twilio sends.
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(800).fill(0x7f) }),
    ];
    await expectMaxPayloadHolds(TWILIO_MAX_PAYLOAD, frames);
  });

  it('let SignalWire’s largest messages through (L16 at 24 kHz)', async () => {
    const format = { encoding: 'l16', sampleRate: 24000, channels: 1 } as const;
    const peer = new SignalWirePeerSimulator({ format });
    const frames = [
      ...peer.encodeInbound(start(format)),
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(4800) }),
    ];
    await expectMaxPayloadHolds(SIGNALWIRE_MAX_PAYLOAD, frames);
  });
});
