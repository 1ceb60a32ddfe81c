import { RAW_WEBSOCKET_MAX_PAYLOAD } from '@switchboard/websocket';

/**
 * `maxPayload` for the `ws` server that accepts Vonage's WebSocket audio: 128 KiB, the raw
 * WebSocket bound of `@switchboard/websocket`. A larger message closes that one socket with 1009
 * (message too big) before it is held in memory; other calls go on.
 *
 * Vonage sends 20 ms binary L16 frames (320 or 640 bytes) and small JSON events
 * (`websocket:connected` with the headers of the NCCO, at most 512 bytes of them).
 */
export const VONAGE_MAX_PAYLOAD = RAW_WEBSOCKET_MAX_PAYLOAD;
