/**
 * `maxPayload` for the `ws` server (or `@fastify/websocket`'s `options`) that accepts Exotel's
 * Voicebot stream: 256 KiB. A larger message closes that one socket with 1009 (message too big)
 * before it is held in memory; other calls go on.
 *
 * Exotel sends audio in chunks of up to 100 KB, base64-encoded inside JSON: about 137 KB per
 * message at most (100 KiB is 136 536 base64 characters, plus the envelope). 256 KiB is nearly
 * twice that, and still keeps a misbehaving or hostile peer from making the process buffer
 * megabytes (`ws` accepts 100 MiB by default).
 */
export const EXOTEL_MAX_PAYLOAD = 256 * 1024;
