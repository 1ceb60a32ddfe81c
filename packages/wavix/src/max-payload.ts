/**
 * `maxPayload` for the `ws` server (or `@fastify/websocket`'s `options`) that accepts Wavix's call
 * stream: 256 KiB. A larger message closes that one socket with 1009 (message too big) before it
 * is held in memory; other calls go on.
 *
 * Wavix sends 20 ms of PCM16 24 kHz a message (960 bytes, 1280 base64 characters in JSON); it does
 * not document an upper bound. 256 KiB holds over 2.5 s of audio in one message, and still keeps a
 * misbehaving or hostile peer from making the process buffer megabytes (`ws` accepts 100 MiB by
 * default).
 */
export const WAVIX_MAX_PAYLOAD = 256 * 1024;
