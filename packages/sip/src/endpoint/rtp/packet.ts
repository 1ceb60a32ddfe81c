/**
 * RTP (RFC 3550) packets, telephone events (RFC 4733) and comfort noise (RFC 3389).
 * Pure: `Uint8Array` and `DataView` only, so the protocol that uses them runs anywhere.
 */

export const RTP_VERSION = 2;
/** Fixed RTP header length, without CSRCs or extension. */
export const RTP_HEADER_BYTES = 12;
/** Static payload types of RFC 3551 that the endpoint speaks. */
export const PT_PCMU = 0;
export const PT_PCMA = 8;
export const PT_CN = 13;

export type RtpPacket = {
  payloadType: number;
  marker: boolean;
  /** 16-bit sequence number. */
  sequence: number;
  /** 32-bit media timestamp, in clock-rate units. */
  timestamp: number;
  ssrc: number;
  /** The payload, without padding (a view into the packet). */
  payload: Uint8Array;
};

/** Why {@link parseRtp} refused a packet. */
export class RtpFormatError extends Error {}

/**
 * True when the bytes look like RTCP rather than RTP (RFC 5761 §4: packet types 192–223 sit where
 * the marker bit and payload type are, a range no audio payload type uses).
 */
export function isRtcp(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && bytes[0]! >> 6 === RTP_VERSION && bytes[1]! >= 192 && bytes[1]! <= 223;
}

/** Parses an RTP packet; throws {@link RtpFormatError} for anything RFC 3550 §5.1 would not send. */
export function parseRtp(bytes: Uint8Array): RtpPacket {
  if (bytes.byteLength < RTP_HEADER_BYTES)
    throw new RtpFormatError(`packet of ${bytes.byteLength} bytes is shorter than an RTP header`);
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const version = b0 >> 6;
  if (version !== RTP_VERSION) throw new RtpFormatError(`RTP version ${version}, expected 2`);
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = RTP_HEADER_BYTES + csrcCount * 4;
  if (extension) {
    if (bytes.byteLength < offset + 4) throw new RtpFormatError('header extension runs past the end of the packet');
    offset += 4 + view.getUint16(offset + 2) * 4;
  }
  let end = bytes.byteLength;
  if (padding) {
    const pad = bytes[end - 1]!;
    if (pad === 0 || end - pad < offset) throw new RtpFormatError(`invalid padding length ${pad}`);
    end -= pad;
  }
  if (offset > end) throw new RtpFormatError('RTP header runs past the end of the packet');
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: bytes.subarray(offset, end),
  };
}

/** Writes an RTP packet with a fixed 12-byte header (no CSRCs, extension or padding). */
export function serializeRtp(packet: Omit<RtpPacket, 'payload'> & { payload: Uint8Array }): Uint8Array {
  const out = new Uint8Array(RTP_HEADER_BYTES + packet.payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = RTP_VERSION << 6;
  out[1] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f);
  view.setUint16(2, packet.sequence & 0xffff);
  view.setUint32(4, packet.timestamp >>> 0);
  view.setUint32(8, packet.ssrc >>> 0);
  out.set(packet.payload, RTP_HEADER_BYTES);
  return out;
}

// -------------------------------------------------------------------------------------------------
// RFC 4733 telephone events

/** Event codes 0–15 of RFC 4733 §3.2: digits, `*`, `#`, A–D. */
const DTMF_EVENTS = '0123456789*#ABCD';

export type TelephoneEvent = {
  /** Event code (0–255). */
  event: number;
  end: boolean;
  /** Power level, 0 to -63 dBm0, as the positive number of the wire. */
  volume: number;
  /** Duration so far, in timestamp units. */
  duration: number;
};

/** The digit an RFC 4733 event code stands for, or undefined for other events (flash, tones). */
export function dtmfDigit(event: number): string | undefined {
  return event >= 0 && event < DTMF_EVENTS.length ? DTMF_EVENTS[event] : undefined;
}

/** The RFC 4733 event code of a DTMF digit (`0`–`9`, `*`, `#`, `A`–`D`, any case), or undefined. */
export function dtmfEventCode(digit: string): number | undefined {
  const index = DTMF_EVENTS.indexOf(digit.toUpperCase());
  return digit.length === 1 && index >= 0 ? index : undefined;
}

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent {
  if (payload.byteLength < 4)
    throw new RtpFormatError(`telephone-event payload of ${payload.byteLength} bytes, expected 4`);
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

export function serializeTelephoneEvent(event: TelephoneEvent): Uint8Array {
  const duration = Math.max(0, Math.min(0xffff, Math.round(event.duration)));
  return Uint8Array.of(
    event.event & 0xff,
    (event.end ? 0x80 : 0) | (event.volume & 0x3f),
    duration >> 8,
    duration & 0xff,
  );
}

/** An RFC 3389 comfort-noise payload: only the noise level (-dBov), no spectral information. */
export function comfortNoisePayload(levelDbov = 70): Uint8Array {
  return Uint8Array.of(Math.max(0, Math.min(127, Math.round(levelDbov))));
}

// -------------------------------------------------------------------------------------------------
// Counters

/** Random 32-bit value (SSRC, initial timestamp) from the platform's CSPRNG. */
export function random32(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Random initial sequence number (RFC 3550 §5.1: random, so plaintext attacks are harder). */
export function random16(): number {
  return random32() & 0xffff;
}

/** Signed distance from `b` to `a` on a 16-bit wrapping counter. */
export function seqDelta(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** Signed distance from `b` to `a` on a 32-bit wrapping counter. */
export function tsDelta(a: number, b: number): number {
  return (a - b) | 0;
}
