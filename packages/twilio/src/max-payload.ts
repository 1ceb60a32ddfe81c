/**
 * How large a WebSocket message the media socket should accept from Twilio or SignalWire: the
 * `maxPayload` to give the `ws` server (or `@fastify/websocket`'s `options`) that accepts the
 * stream. A larger message closes that one socket with 1009 (message too big) before it is held
 * in memory; other calls go on.
 *
 * Every message of these streams is small JSON: a 20 ms media frame is under 1 KB (160 bytes of
 * μ-law, or 960 of L16 at 24 kHz on SignalWire, base64-encoded), and `start` carries the stream's
 * metadata and custom parameters, a few KB at most. 64 KiB leaves ample headroom while keeping a
 * misbehaving or hostile peer from making the process buffer megabytes (`ws` accepts 100 MiB by
 * default).
 */

/** `maxPayload` for Twilio's media stream socket: 64 KiB. */
export const TWILIO_MAX_PAYLOAD = 64 * 1024;

/** `maxPayload` for SignalWire's media stream socket: 64 KiB (Twilio's framing, L16 up to 24 kHz). */
export const SIGNALWIRE_MAX_PAYLOAD = 64 * 1024;
