/**
 * SDP offer/answer (RFC 3264) for one audio stream: G.711 (PCMU or PCMA), RFC 4733 telephone
 * events and RFC 3389 comfort noise. Pure: parsing and writing go through `sdp-transform`.
 */
import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { AudioFormat } from '@switchboard/core';
import { PT_CN, PT_PCMA, PT_PCMU } from './rtp/packet.js';

/** Audio codecs the endpoint speaks. */
export type SipCodec = 'pcmu' | 'pcma';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What the endpoint accepts in an offer, and offers itself. */
export type MediaPreferences = {
  /** Codecs accepted (the offer's order decides among them). Default `['pcmu', 'pcma']`. */
  codecs?: SipCodec[];
  /** Accept and offer RFC 4733 telephone events (DTMF). Default true. */
  telephoneEvent?: boolean;
  /** Accept and offer RFC 3389 comfort noise (sent when a barge-in cuts playback). Default true. */
  comfortNoise?: boolean;
  /** Payload type offered for telephone events when the endpoint makes the offer. Default 101. */
  telephoneEventPayloadType?: number;
};

/** The outcome of an offer/answer exchange for the call's audio stream. */
export type NegotiatedMedia = {
  codec: SipCodec;
  format: AudioFormat;
  /** RTP payload type of the codec (the offer's number). */
  payloadType: number;
  /** RTP payload type of telephone-event/8000, when both sides take it. */
  telephoneEventPayloadType?: number;
  /** RTP payload type of CN/8000, when both sides take it. */
  comfortNoisePayloadType?: number;
  /** Packet duration the endpoint sends, ms. */
  ptimeMs: number;
  /** Where to send RTP (the remote c= address and m= port); undefined for a held stream. */
  remoteAddress?: string;
  remotePort?: number;
  /** The remote RTCP port (a=rtcp, else RTP + 1). */
  remoteRtcpPort?: number;
  /** The address family of `remoteAddress` (the c= line's `IP4`/`IP6`, or the address's form). */
  remoteFamily?: 4 | 6;
  /** The c= address was `0.0.0.0`: the RFC 2543 way to hold a stream (nothing may be sent). */
  nullAddress?: true;
  /** The endpoint's direction (the answer's, or ours in an offer). */
  direction: MediaDirection;
  /** The stream's `a=label` (RFC 4574), when the remote side names it. */
  label?: string;
  /** Index of the audio m-line in the remote description. */
  mediaIndex: number;
};

/**
 * True when the endpoint may send RTP on the stream: its direction is `sendrecv` or `sendonly`
 * (the caller's offer did not make it `sendonly` or `inactive` from its side) and the offer did
 * not give `0.0.0.0` as the address (RFC 3264 §8.4 and RFC 2543 hold).
 */
export function sendsAudio(media: Pick<NegotiatedMedia, 'direction' | 'nullAddress'>): boolean {
  return (media.direction === 'sendrecv' || media.direction === 'sendonly') && media.nullAddress !== true;
}

/** Our side of the description: where we receive. */
export type LocalMedia = {
  address: string;
  port: number;
  /** o= session id and version (the version goes up with every change). */
  sessionId: string;
  sessionVersion: number;
  username?: string;
  sessionName?: string;
};

/** An offer that cannot be answered (→ 488 Not Acceptable Here), or SDP that cannot be read. */
export class SdpError extends Error {
  override name = 'SdpError';
}

const STATIC: Record<number, { codec: string; rate: number }> = {
  [PT_PCMU]: { codec: 'PCMU', rate: 8000 },
  [PT_PCMA]: { codec: 'PCMA', rate: 8000 },
  [PT_CN]: { codec: 'CN', rate: 8000 },
};

const CODEC_NAMES: Record<SipCodec, string> = { pcmu: 'PCMU', pcma: 'PCMA' };
const CODEC_PT: Record<SipCodec, number> = { pcmu: PT_PCMU, pcma: PT_PCMA };

/**
 * A session description read by {@link parseSdp}: pass it to {@link negotiateOffer},
 * {@link negotiateAnswer} or {@link buildAnswer} in place of the text, so that it is parsed once.
 * Only `version` and the list of `media` sections are promised; the rest of what the parser read
 * is there but not part of this package's API.
 */
export interface ParsedSdp {
  /** The `v=` line. */
  readonly version: number;
  /** The `m=` sections, in order. */
  readonly media: readonly object[];
}

/** Parses SDP text; throws {@link SdpError} when it is not a session description. */
export function parseSdp(text: string): ParsedSdp {
  return readSdp(text) as ParsedSdp;
}

/** The text, or what {@link parseSdp} read from it, as the parser's session description. */
function sessionOf(sdp: ParsedSdp | string): SessionDescription {
  return typeof sdp === 'string' ? readSdp(sdp) : (sdp as SessionDescription);
}

function readSdp(text: string): SessionDescription {
  let session: SessionDescription;
  try {
    session = sdpTransform.parse(text);
  } catch (error) {
    throw new SdpError(`unreadable SDP: ${(error as Error)?.message ?? String(error)}`);
  }
  if (session.version === undefined || !Array.isArray(session.media) || session.media.length === 0) {
    throw new SdpError('SDP without v= or m= lines');
  }
  return session;
}

function payloadList(media: MediaDescription): number[] {
  return String(media.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((p) => /^\d{1,3}$/.test(p))
    .map(Number)
    .filter((p) => p <= 127);
}

/**
 * sdp-transform turns every field that looks like a number into one (`a=rtpmap:8 48000/8000` has
 * the codec 48000), and leaves an empty field as `''`: fields are read as text or as numbers here.
 */
function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** A UDP port (1-65535), or undefined. */
function udpPort(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : undefined;
}

function rtpmapOf(media: MediaDescription, pt: number): { codec: string; rate: number } | undefined {
  const entry = (Array.isArray(media.rtp) ? media.rtp : []).find((r) => r?.payload === pt);
  if (entry) return { codec: text(entry.codec), rate: typeof entry.rate === 'number' ? entry.rate : 0 };
  return STATIC[pt];
}

function directionOf(session: SessionDescription, media: MediaDescription): MediaDirection {
  const value = media.direction ?? (session as { direction?: string }).direction ?? 'sendrecv';
  return value === 'sendonly' || value === 'recvonly' || value === 'inactive' ? value : 'sendrecv';
}

function reverse(direction: MediaDirection): MediaDirection {
  if (direction === 'sendonly') return 'recvonly';
  if (direction === 'recvonly') return 'sendonly';
  return direction;
}

function isRtpAvp(protocol: unknown): boolean {
  return /^RTP\/AVPF?$/i.test(text(protocol).trim());
}

type Remote = Pick<NegotiatedMedia, 'remoteAddress' | 'remotePort' | 'remoteRtcpPort' | 'remoteFamily' | 'nullAddress'>;

function remoteOf(session: SessionDescription, media: MediaDescription): Remote {
  const connection = media.connection ?? session.connection;
  const ip = text(connection?.ip);
  // 0.0.0.0 is the RFC 2543 way to put a stream on hold: nowhere to send.
  if (ip === '0.0.0.0' || ip === '::') return { nullAddress: true };
  if (!ip || media.port === 0) return {};
  const address = ip.split('/')[0]!;
  const family = Number(connection?.version) === 6 || address.includes(':') ? 6 : 4;
  const out: Remote = { remoteAddress: address, remotePort: media.port, remoteFamily: family };
  // An a=rtcp without a usable port (`a=rtcp:`, `a=rtcp:0`) leaves RTCP where RFC 3550 puts it.
  out.remoteRtcpPort = udpPort(media.rtcp?.port) ?? (media.port < 65535 ? media.port + 1 : media.port);
  return out;
}

function ptimeOf(media: MediaDescription): number {
  const ptime = Number(media.ptime);
  return Number.isInteger(ptime) && ptime >= 10 && ptime <= 60 && ptime % 10 === 0 ? ptime : 20;
}

/**
 * Answers an offer (RFC 3264 §6): the first RTP/AVP audio stream with a codec we accept. Throws
 * {@link SdpError} when there is none (the INVITE then gets 488).
 */
export function negotiateOffer(offer: ParsedSdp | string, preferences: MediaPreferences = {}): NegotiatedMedia {
  const session = sessionOf(offer);
  const accepted = preferences.codecs ?? ['pcmu', 'pcma'];
  let reason = 'no audio stream';
  for (const [index, media] of session.media.entries()) {
    if (typeof media !== 'object' || media === null || media.type !== 'audio' || media.port === 0) continue;
    if (!Number.isInteger(media.port) || media.port < 1 || media.port > 65535) {
      // Nothing could ever be sent there: every RTP packet would fail.
      reason = `audio port ${String(media.port)} is not a UDP port`;
      continue;
    }
    if (!isRtpAvp(media.protocol)) {
      reason = `audio over ${media.protocol} is not supported (plain RTP/AVP only)`;
      continue;
    }
    const payloads = payloadList(media);
    let chosen: { codec: SipCodec; pt: number } | undefined;
    let telephoneEvent: number | undefined;
    let comfortNoise: number | undefined;
    for (const pt of payloads) {
      const map = rtpmapOf(media, pt);
      if (!map) continue;
      const name = map.codec.toUpperCase();
      if (!chosen && map.rate === 8000) {
        const codec = accepted.find((c) => CODEC_NAMES[c] === name);
        if (codec) chosen = { codec, pt };
      }
      if (name === 'TELEPHONE-EVENT' && map.rate === 8000 && telephoneEvent === undefined) telephoneEvent = pt;
      if (name === 'CN' && map.rate === 8000 && comfortNoise === undefined) comfortNoise = pt;
    }
    if (!chosen) {
      reason = `no accepted codec among payload types ${payloads.join(' ') || '(none)'}`;
      continue;
    }
    const result: NegotiatedMedia = {
      codec: chosen.codec,
      format: { encoding: chosen.codec, sampleRate: 8000, channels: 1 },
      payloadType: chosen.pt,
      ptimeMs: ptimeOf(media),
      direction: reverse(directionOf(session, media)),
      mediaIndex: index,
      ...remoteOf(session, media),
    };
    if (telephoneEvent !== undefined && preferences.telephoneEvent !== false)
      result.telephoneEventPayloadType = telephoneEvent;
    if (comfortNoise !== undefined && preferences.comfortNoise !== false) result.comfortNoisePayloadType = comfortNoise;
    if (media.label !== undefined && String(media.label).length > 0) result.label = String(media.label);
    return result;
  }
  throw new SdpError(reason);
}

function ipVersion(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function baseSession(local: LocalMedia): SessionDescription {
  const ipVer = ipVersion(local.address);
  return {
    version: 0,
    origin: {
      username: local.username ?? '-',
      sessionId: local.sessionId,
      sessionVersion: local.sessionVersion,
      netType: 'IN',
      ipVer,
      address: local.address,
    },
    name: local.sessionName ?? 'switchboard',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media: [],
  } as SessionDescription;
}

function audioMedia(
  port: number,
  codecs: Array<{ pt: number; name: string }>,
  telephoneEvent: number | undefined,
  comfortNoise: number | undefined,
  ptimeMs: number,
  direction: MediaDirection,
): MediaDescription {
  const rtp: MediaDescription['rtp'] = codecs.map(({ pt, name }) => ({ payload: pt, codec: name, rate: 8000 }));
  const fmtp: MediaDescription['fmtp'] = [];
  const payloads = codecs.map((c) => c.pt);
  if (telephoneEvent !== undefined) {
    payloads.push(telephoneEvent);
    rtp.push({ payload: telephoneEvent, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: telephoneEvent, config: '0-15' });
  }
  if (comfortNoise !== undefined) {
    payloads.push(comfortNoise);
    rtp.push({ payload: comfortNoise, codec: 'CN', rate: 8000 });
  }
  return {
    type: 'audio',
    port,
    protocol: 'RTP/AVP',
    payloads: payloads.join(' '),
    rtp,
    fmtp,
    ptime: ptimeMs,
    direction,
  } as MediaDescription;
}

/** The answer to `offer` for the negotiated stream; other streams are refused with port 0. */
export function buildAnswer(offer: ParsedSdp | string, media: NegotiatedMedia, local: LocalMedia): string {
  const session = sessionOf(offer);
  const answer = baseSession(local);
  answer.media = session.media.map((m, index) => {
    if (index !== media.mediaIndex) {
      // RFC 3264 §6: a refused stream keeps its place, with port 0 and its formats.
      return {
        type: m.type,
        port: 0,
        protocol: m.protocol,
        payloads: m.payloads ?? '0',
        rtp: [],
        fmtp: [],
      } as MediaDescription;
    }
    return audioMedia(
      local.port,
      [{ pt: media.payloadType, name: CODEC_NAMES[media.codec] }],
      media.telephoneEventPayloadType,
      media.comfortNoisePayloadType,
      media.ptimeMs,
      media.direction,
    );
  });
  return sdpTransform.write(answer);
}

/** Our offer (an INVITE without SDP gets it in the 200 OK): every accepted codec, DTMF and CN. */
export function buildOffer(local: LocalMedia, preferences: MediaPreferences = {}): string {
  const session = baseSession(local);
  const codecs = (preferences.codecs ?? ['pcmu', 'pcma']).map((c) => ({ pt: CODEC_PT[c], name: CODEC_NAMES[c] }));
  session.media = [
    audioMedia(
      local.port,
      codecs,
      preferences.telephoneEvent === false ? undefined : (preferences.telephoneEventPayloadType ?? 101),
      preferences.comfortNoise === false ? undefined : PT_CN,
      20,
      'sendrecv',
    ),
  ];
  return sdpTransform.write(session);
}

/**
 * Reads the answer to our own offer ({@link buildOffer}). Throws {@link SdpError} when it accepts nothing we offered.
 */
export function negotiateAnswer(answer: ParsedSdp | string, preferences: MediaPreferences = {}): NegotiatedMedia {
  const media = negotiateOffer(answer, preferences);
  // The answerer's direction is its own: ours is the reverse of it, which negotiateOffer computed.
  return media;
}
