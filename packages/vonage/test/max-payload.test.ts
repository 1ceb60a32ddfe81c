import { describe, expect, it } from 'vitest';
import { RAW_WEBSOCKET_MAX_PAYLOAD } from '@switchboard/websocket';
import { VONAGE_MAX_PAYLOAD } from '../src/index.js';

describe('VONAGE_MAX_PAYLOAD', () => {
  it('is the raw WebSocket bound, 128 KiB', () => {
    expect(VONAGE_MAX_PAYLOAD).toBe(RAW_WEBSOCKET_MAX_PAYLOAD);
    expect(VONAGE_MAX_PAYLOAD).toBe(131_072);
  });
});
