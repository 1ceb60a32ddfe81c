/**
 * The outbound half of a call's RTP: one source (SSRC) whose packets carry consecutive sequence
 * numbers and timestamps on the media clock, audio in packets of the stream's packet time, a
 * marker bit on each talkspurt's first packet (RFC 3550 §5.1), RFC 4733 digits and RFC 3389
 * comfort noise. Pure apart from reading `now`.
 */
import type { NegotiatedMedia } from '../sdp.js';
import {
  comfortNoisePayload,
  dtmfEventCode,
  random16,
  random32,
  serializeRtp,
  serializeTelephoneEvent,
} from './packet.js';

export type RtpSenderOptions = {
  ssrc: number;
  /** The clock RTP timestamps follow, ms. */
  now: () => number;
  dtmf: { toneMs: number; gapMs: number; volume: number };
  /** The stream as negotiated now (a re-INVITE may change it). */
  media: () => NegotiatedMedia;
  /** Counters the sender adds its packets and digits to. */
  stats: { packetsOut: number; dtmfOut: number };
};

export class RtpSender {
  readonly ssrc: number;
  readonly #now: () => number;
  readonly #dtmf: { toneMs: number; gapMs: number; volume: number };
  readonly #media: () => NegotiatedMedia;
  readonly #stats: { packetsOut: number; dtmfOut: number };
  #seq = random16();
  readonly #tsBase = random32();
  readonly #t0: number;
  /** Samples since `#t0` where the next packet continues; undefined before the first. */
  #nextTs: number | undefined;
  #newTalkspurt = true;

  constructor(options: RtpSenderOptions) {
    this.ssrc = options.ssrc;
    this.#now = options.now;
    this.#dtmf = options.dtmf;
    this.#media = options.media;
    this.#stats = options.stats;
    this.#t0 = this.#now();
  }

  /**
   * The next audio starts a new talkspurt: a marker bit, and a timestamp on the media clock
   * (after a hold, however long, the stream goes on from the time of the resume).
   */
  newTalkspurt(): void {
    this.#newTalkspurt = true;
  }

  /** Samples of the media clock since the protocol was created. */
  #clockSamples(): number {
    return Math.floor(((this.#now() - this.#t0) * this.#media().format.sampleRate) / 1000);
  }

  #packet(payloadType: number, marker: boolean, samples: number, payload: Uint8Array): Uint8Array {
    this.#stats.packetsOut++;
    const packet = serializeRtp({
      payloadType,
      marker,
      sequence: this.#seq,
      timestamp: (this.#tsBase + samples) >>> 0,
      ssrc: this.ssrc,
      payload,
    });
    this.#seq = (this.#seq + 1) & 0xffff;
    return packet;
  }

  /** Audio as packets of the stream's packet time, numbered and stamped on the media clock. */
  audio(payload: Uint8Array): Uint8Array[] {
    if (payload.byteLength === 0) return [];
    const media = this.#media();
    const frameBytes = media.ptimeMs * (media.format.sampleRate / 1000);
    const out: Uint8Array[] = [];
    for (let offset = 0; offset < payload.byteLength; offset += frameBytes) {
      const chunk = payload.subarray(offset, Math.min(payload.byteLength, offset + frameBytes));
      const clock = this.#clockSamples();
      let ts = this.#nextTs;
      let marker = false;
      // A talkspurt starts (RFC 3550 §5.1 marker bit) at the first packet, after a clear or a
      // digit, and after the line went quiet: its timestamp then follows the media clock.
      if (ts === undefined || this.#newTalkspurt || clock > ts + 2 * frameBytes) {
        ts = Math.max(ts ?? 0, clock);
        marker = true;
        this.#newTalkspurt = false;
      }
      out.push(this.#packet(media.payloadType, marker, ts, chunk));
      this.#nextTs = ts + chunk.byteLength;
    }
    return out;
  }

  /** RFC 4733 events, one per digit: a first packet, updates every packet time, three end packets. */
  dtmf(digits: string): Uint8Array[] {
    const pt = this.#media().telephoneEventPayloadType;
    if (pt === undefined) return [];
    const rate = this.#media().format.sampleRate / 1000;
    const frame = this.#media().ptimeMs * rate;
    const tone = Math.max(frame, Math.round(this.#dtmf.toneMs * rate));
    const gap = Math.round(this.#dtmf.gapMs * rate);
    const out: Uint8Array[] = [];
    let start = Math.max(this.#nextTs ?? 0, this.#clockSamples());
    for (const ch of digits) {
      const code = dtmfEventCode(ch);
      if (code === undefined) continue;
      const volume = this.#dtmf.volume;
      for (let duration = frame; duration < tone; duration += frame) {
        out.push(
          this.#packet(
            pt,
            duration === frame,
            start,
            serializeTelephoneEvent({ event: code, end: false, volume, duration }),
          ),
        );
      }
      for (let i = 0; i < 3; i++)
        out.push(
          this.#packet(
            pt,
            tone <= frame && i === 0,
            start,
            serializeTelephoneEvent({ event: code, end: true, volume, duration: tone }),
          ),
        );
      this.#stats.dtmfOut++;
      start += tone + gap;
    }
    if (out.length > 0) {
      this.#nextTs = start;
      this.#newTalkspurt = true;
    }
    return out;
  }

  /**
   * A barge-in: the bridge stops sending (what is queued is dropped by the transport) and marks
   * the start of silence with a comfort-noise packet (RFC 3389), where CN was negotiated.
   */
  clear(): Uint8Array[] {
    this.#newTalkspurt = true;
    const pt = this.#media().comfortNoisePayloadType;
    if (pt === undefined) return [];
    const ts = Math.max(this.#nextTs ?? 0, this.#clockSamples());
    return [this.#packet(pt, false, ts, comfortNoisePayload())];
  }
}
