/**
 * `maxPayload` for the `ws` server (or `@fastify/websocket`'s `options`) that accepts Bandwidth's
 * media stream: 256 KiB. A larger message closes that one socket with 1009 (message too big)
 * before it is held in memory; other calls go on.
 *
 * Bandwidth's largest message is the `start`: up to 12 stream params of up to 256 + 2048
 * characters, about 28 KB, which JSON escaping can grow severalfold. Media messages hold a few
 * hundred bytes of base64 μ-law. 256 KiB leaves room for all of that and still keeps a peer from
 * making the process buffer megabytes (`ws` accepts 100 MiB by default).
 */
export const BANDWIDTH_MAX_PAYLOAD = 256 * 1024;
