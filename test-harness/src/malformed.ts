/**
 * The malformed frames of `errors.malformed`: the carrier's own (`PeerSimulator.malformedFrames`),
 * else a default set for a JSON carrier or for a binary one, and how a frame is named in a check's
 * detail.
 */
import type { AudioFormat } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';

/**
 * Frames a broken or hostile JSON carrier might send (Twilio's dialect): not JSON, bad base64, a dtmf without a digit.
 */
export const MALFORMED_JSON_FRAMES: readonly string[] = [
  'this is not json',
  '{"event":"media","streamSid":"MZ00000000000000000000000000000000","media":{"payload":"%%% not base64 %%%"}}',
  '{"event":"dtmf","streamSid":"MZ00000000000000000000000000000000"}',
];

/**
 * Frames a broken binary carrier might send (audio in binary frames, control messages as text):
 * text that is no control message, JSON cut short; with L16 on the wire, a binary frame of odd
 * length (half a sample).
 */
export const MALFORMED_BINARY_FRAMES: readonly string[] = ['this is not json', '{"event":"start","start":'];

/** A binary frame of odd length: no whole number of 16-bit samples. */
const ODD_L16_FRAME = Uint8Array.of(0x00, 0x10, 0x00);

/**
 * The malformed frames a replay sends: the peer's own when it has them, else the defaults for a
 * carrier whose media frames are binary (`binary`) or JSON.
 */
export function malformedFramesFor(
  peer: PeerSimulator,
  carrier: { binary: boolean; format: AudioFormat },
): Array<string | Uint8Array> {
  const own = peer.malformedFrames?.();
  if (own && own.length > 0) return own;
  if (!carrier.binary) return [...MALFORMED_JSON_FRAMES];
  return carrier.format.encoding === 'l16' ? [...MALFORMED_BINARY_FRAMES, ODD_L16_FRAME] : [...MALFORMED_BINARY_FRAMES];
}

/** A malformed frame as a check's detail names it: its text (cut at 80 characters), or its size and first bytes. */
export function describeMalformedFrame(frame: string | Uint8Array): string {
  if (typeof frame === 'string') return JSON.stringify(frame.length > 80 ? `${frame.slice(0, 80)}…` : frame);
  const head = Array.from(frame.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `a binary frame of ${frame.byteLength} bytes${frame.byteLength > 0 ? ` (${head}${frame.byteLength > 8 ? ' …' : ''})` : ''}`;
}
