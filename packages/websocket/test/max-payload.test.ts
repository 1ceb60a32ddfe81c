import { describe, expect, it } from 'vitest';
import { ASTERISK_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_BYTES, RAW_WEBSOCKET_MAX_PAYLOAD } from '../src/index.js';
import { RawWebSocketPeerSimulator } from '../src/testing.js';
import { expectMaxPayloadHolds } from '@switchboard/conformance/testing';

describe('RAW_WEBSOCKET_MAX_PAYLOAD', () => {
  it('is 128 KiB: twice the protocol’s own message limit, so a frame over that is a ProtocolError and not a closed socket', () => {
    expect(RAW_WEBSOCKET_MAX_PAYLOAD).toBe(131_072);
    expect(RAW_WEBSOCKET_MAX_PAYLOAD).toBe(2 * DEFAULT_MAX_MESSAGE_BYTES);
    expect(RAW_WEBSOCKET_MAX_PAYLOAD).toBeGreaterThan(ASTERISK_MAX_MESSAGE_BYTES);
  });

  it('lets the carriers’ largest messages through and closes a socket sending more with 1009, the server serving the next one', async () => {
    const vonage = new RawWebSocketPeerSimulator({ preset: 'vonage' });
    const start = vonage.encodeInbound({
      type: 'call_start',
      streamId: 'vonage',
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
      customParameters: { tenant: 'x'.repeat(500) },
      raw: undefined,
    });
    const frames = [
      ...start,
      // 20 ms of L16 at 48 kHz, the richest format of these carriers, and Asterisk's largest message.
      new Uint8Array(1920),
      new Uint8Array(ASTERISK_MAX_MESSAGE_BYTES),
      // A message over the protocol's limit but under the socket's: the protocol refuses it, the socket stays.
      new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 1),
    ];
    await expectMaxPayloadHolds(RAW_WEBSOCKET_MAX_PAYLOAD, frames);
  });
});
