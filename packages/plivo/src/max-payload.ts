/**
 * `maxPayload` for the `ws` server (or `@fastify/websocket`'s `options`) that accepts Plivo's
 * audio stream: 64 KiB. A larger message closes that one socket with 1009 (message too big)
 * before it is held in memory; other calls go on.
 *
 * Plivo sends small JSON: a 20 ms media chunk is under 1 KB base64-encoded (μ-law 8 kHz, or L16 at
 * 16 kHz), and `start` carries the call's ids and extra headers. 64 KiB leaves ample headroom
 * while keeping a misbehaving or hostile peer from making the process buffer megabytes (`ws`
 * accepts 100 MiB by default).
 */
export const PLIVO_MAX_PAYLOAD = 64 * 1024;
