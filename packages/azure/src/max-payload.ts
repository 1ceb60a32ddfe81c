/**
 * `maxPayload` for the `ws` server (or `@fastify/websocket`'s `options`) that accepts ACS's media
 * WebSocket: 256 KiB. A larger message closes that one socket with 1009 (message too big) before
 * it is held in memory; other calls go on.
 *
 * ACS sends 20 ms of 16-bit PCM a message (960 bytes at 24 kHz, about 1.3 KB as base64 in JSON),
 * and its overview names 64 KB as its data packet size: about 88 KB once base64-encoded. 256 KiB
 * leaves room for both and still keeps a misbehaving peer from making the process buffer
 * megabytes (`ws` accepts 100 MiB by default).
 */
export const AZURE_MAX_PAYLOAD = 256 * 1024;
