/**
 * `maxPayload` for the `ws` server that accepts a raw WebSocket audio stream (Vonage, Asterisk
 * chan_websocket, jambonz, generic): 128 KiB. A larger message closes that one socket with 1009
 * (message too big) before it is held in memory; other calls go on.
 *
 * These carriers send binary audio frames of a few hundred bytes to a few KB (20 ms of L16 at
 * 48 kHz is 1 920 bytes; Asterisk never sends a message over 65 500 bytes) and small JSON or text
 * control messages. The protocol refuses a frame over its `maxMessageBytes` (default 64 KiB) as a
 * `ProtocolError` and the call goes on; the socket bound is twice that, so only a message no
 * carrier sends closes the socket. Raise both together if you raise `maxMessageBytes`.
 */
export const RAW_WEBSOCKET_MAX_PAYLOAD = 128 * 1024;
