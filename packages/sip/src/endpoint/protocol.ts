import {
  ProtocolError,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import { JitterBuffer, type JitterBufferStats } from './rtp/jitter.js';
import {
  PT_CN,
  PT_PCMU,
  type RtpFormatError,
  dtmfDigit,
  dtmfEventCode,
  isRtcp,
  parseRtp,
  parseTelephoneEvent,
  random32,
  tsDelta,
  type RtpPacket,
} from './rtp/packet.js';
import { RtpSender } from './rtp/sender.js';
import { callStartFromInvite } from './call-start.js';
import { type SdpError, negotiateOffer, sendsAudio, type MediaPreferences, type NegotiatedMedia } from './sdp.js';
import { type SipParseError, bodyText, parseSipMessage, type SipRequest } from './sip/message.js';

export { callStartFromInvite, customParametersOf, streamIdOf } from './call-start.js';

const NAME = 'sip';

/** PCMU, telephone-event 101 and CN: what the protocol assumes before any SDP says otherwise. */
export const DEFAULT_MEDIA: NegotiatedMedia = {
  codec: 'pcmu',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  payloadType: PT_PCMU,
  telephoneEventPayloadType: 101,
  comfortNoisePayloadType: PT_CN,
  ptimeMs: 20,
  direction: 'sendrecv',
  mediaIndex: 0,
};

/** Default audio kept queued at the far end (ms): one packet in flight and one ready. */
export const DEFAULT_LEAD_MS = 40;
/** Default jitter buffer depth, packets. */
export const DEFAULT_JITTER_DEPTH = 3;

export type RtpMediaProtocolOptions = {
  /**
   * The negotiated stream (codec, payload types, packet time). Default: `invite`'s offer, else {@link DEFAULT_MEDIA}.
   */
  media?: NegotiatedMedia;
  /**
   * The INVITE that set the call up: {@link RtpMediaProtocol.open} then announces the call
   * (`call_start` with its Call-ID, From, To and X- headers) as soon as the transport exists.
   */
  invite?: SipRequest | string;
  /** What INVITEs carried on the media connection itself may negotiate. */
  preferences?: MediaPreferences;
  /** Packets held while waiting for a missing one before it counts as lost. Default 3. */
  jitterDepth?: number;
  /**
   * Audio kept queued at the far end, ms: the transport's output pacing sends one packet per
   * packet time beyond it, which is RTP's own media clock. Default 40.
   */
  leadMs?: number;
  /** The clock RTP timestamps follow (ms). Default `performance.now`. */
  now?: () => number;
  /** Outbound DTMF: tone and pause per digit (ms), RFC 4733 volume (dBm0, positive). */
  dtmf?: { toneMs?: number; gapMs?: number; volume?: number };
  /** Outbound SSRC. Default: random. */
  ssrc?: number;
};

/** Counters of the call's RTP, inbound and outbound. */
export type RtpStats = JitterBufferStats & {
  packetsIn: number;
  packetsOut: number;
  /** Inbound packets with a payload type the call did not negotiate (dropped). */
  unknownPayloadType: number;
  /** RTCP packets received (not interpreted). */
  rtcpIn: number;
  /** Times the remote SSRC changed. */
  ssrcChanges: number;
  /**
   * Times the inbound timestamps started a new time base within one source: the sender restarted
   * its numbering, a talkspurt started behind the previous packet, or a timestamp fell before the
   * stream's first. The packet then continues where the last audio ended.
   */
  timestampRebases: number;
  dtmfIn: number;
  dtmfOut: number;
};

type AudioEvent = Extract<CallEvent, { type: 'audio' }>;

/**
 * A SIP call's media as a {@link MediaStreamProtocol}: binary frames are RTP packets (audio,
 * RFC 4733 telephone events, comfort noise; RTCP is counted and skipped), text frames are the SIP
 * requests of the call's dialog (INVITE → `call_start`, BYE → `call_end`, INFO → `dtmf`), as SIP
 * over WebSocket carries them.
 *
 * Inbound packets go through a small jitter buffer (order, loss, duplicates); audio leaves with an
 * audio-only sequence (so the transport counts loss) and an RTP-derived timestamp (so it pads
 * silence the sender suppressed). Outbound audio becomes one RTP packet per packet time with its
 * own SSRC, sequence and timestamp; the transport's output pacing releases them on RTP's clock.
 * There are no playback acknowledgements: the transport's playout clock estimates playback.
 *
 * Pure apart from reading `now` for RTP timestamps: no timers, no I/O.
 */
export class RtpMediaProtocol implements MediaStreamProtocol {
  readonly name = NAME;
  readonly #preferences: MediaPreferences;
  readonly #leadMs: number;
  readonly #now: () => number;
  readonly #invite: SipRequest | undefined;
  #media: NegotiatedMedia;
  #opened = false;
  #started = false;
  /** Streams announced so far (each `call_start` is one). */
  #streams = 0;
  #stats: Omit<RtpStats, keyof JitterBufferStats>;
  #jitterTotals: JitterBufferStats = {
    received: 0,
    released: 0,
    reordered: 0,
    lost: 0,
    late: 0,
    duplicates: 0,
    resyncs: 0,
    strays: 0,
  };

  // Inbound.
  readonly #jitterDepth: number;
  #jitter: JitterBuffer<RtpPacket>;
  #remoteSsrc: number | undefined;
  /** Last inbound timestamp seen (32-bit) and its unwrapped value. */
  #lastTs32: number | undefined;
  #extTs = 0;
  /** Unwrapped timestamp that maps to `#offsetMs`. */
  #originTs = 0;
  #offsetMs = 0;
  /** End of the last audio delivered, ms (where a new source continues). */
  #audioEndMs = 0;
  #audioSeq = 0;
  #dtmfDone: number[] = [];
  #dtmfPending: { ts: number; digit: string; duration: number } | undefined;
  #lastDecoded: { frame: Uint8Array; info: unknown } | undefined;

  // Outbound.
  readonly #sender: RtpSender;
  /** False while the stream lets us send nothing (the caller holds the call): no RTP leaves. */
  #sending = true;

  constructor(options: RtpMediaProtocolOptions = {}) {
    this.#media = { ...(options.media ?? DEFAULT_MEDIA) };
    this.#preferences = options.preferences ?? {};
    this.#leadMs = options.leadMs ?? DEFAULT_LEAD_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#jitterDepth = options.jitterDepth ?? DEFAULT_JITTER_DEPTH;
    this.#jitter = new JitterBuffer(this.#jitterDepth);
    this.#stats = {
      packetsIn: 0,
      packetsOut: 0,
      unknownPayloadType: 0,
      rtcpIn: 0,
      ssrcChanges: 0,
      timestampRebases: 0,
      dtmfIn: 0,
      dtmfOut: 0,
    };
    this.#sender = new RtpSender({
      ssrc: (options.ssrc ?? random32()) >>> 0,
      now: this.#now,
      dtmf: {
        toneMs: options.dtmf?.toneMs ?? 100,
        gapMs: options.dtmf?.gapMs ?? 70,
        volume: options.dtmf?.volume ?? 10,
      },
      media: () => this.#media,
      stats: this.#stats,
    });
    if (options.invite !== undefined) {
      const invite = typeof options.invite === 'string' ? parseSipMessage(options.invite) : options.invite;
      if (invite.type !== 'request' || invite.method !== 'INVITE')
        throw new TypeError('`invite` must be a SIP INVITE request');
      this.#invite = invite;
      // Without the negotiated stream, the INVITE's own offer gives it (the defaults otherwise).
      if (options.media === undefined && invite.body.byteLength > 0) {
        try {
          this.#media = negotiateOffer(bodyText(invite), this.#preferences);
        } catch {
          // An offer that cannot be answered: the defaults stand.
        }
      }
    }
  }

  get capabilities(): ProtocolCapabilities {
    const ptime = this.#media.ptimeMs;
    return {
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: this.#media.comfortNoisePayloadType !== undefined,
      dtmfIn: true,
      dtmfOut: this.#media.telephoneEventPayloadType !== undefined,
      frame: { ms: ptime, maxBytes: ptime * 8 },
      pacing: { leadMs: this.#leadMs },
    };
  }

  get defaultFormat(): AudioFormat {
    return { ...this.#media.format };
  }

  /** The stream as negotiated (updated by INVITEs carried on the connection). */
  get media(): NegotiatedMedia {
    return { ...this.#media };
  }

  /** The outbound SSRC. */
  get ssrc(): number {
    return this.#sender.ssrc;
  }

  get stats(): RtpStats {
    const jitter = this.#jitter.stats;
    const totals = this.#jitterTotals;
    return {
      ...this.#stats,
      received: totals.received + jitter.received,
      released: totals.released + jitter.released,
      reordered: totals.reordered + jitter.reordered,
      lost: totals.lost + jitter.lost,
      late: totals.late + jitter.late,
      duplicates: totals.duplicates + jitter.duplicates,
      resyncs: totals.resyncs + jitter.resyncs,
      strays: totals.strays + jitter.strays,
    };
  }

  /** The call the INVITE given at construction announces. */
  open(): CallEvent[] {
    if (this.#opened || !this.#invite) return [];
    this.#opened = true;
    this.#started = true;
    this.#streams++;
    const events: CallEvent[] = [callStartFromInvite(this.#invite, this.#media, this.#streams)];
    // A call that starts on hold: the transport holds the model's audio until the caller resumes.
    this.#sending = sendsAudio(this.#media);
    if (!this.#sending) events.push({ type: 'flow_control', paused: true });
    return events;
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    if (typeof frame === 'string') return this.#decodeSip(frame);
    this.#lastDecoded = undefined;
    if (isRtcp(frame)) {
      this.#stats.rtcpIn++;
      this.#lastDecoded = { frame, info: { rtcp: { packetType: frame[1], bytes: frame.byteLength } } };
      return [];
    }
    let packet: RtpPacket;
    try {
      packet = parseRtp(frame);
    } catch (error) {
      throw new ProtocolError(NAME, `malformed RTP packet: ${(error as Error).message}`, { frame, cause: error });
    }
    this.#stats.packetsIn++;
    this.#lastDecoded = {
      frame,
      info: {
        rtp: {
          payloadType: packet.payloadType,
          marker: packet.marker,
          sequence: packet.sequence,
          timestamp: packet.timestamp,
          ssrc: packet.ssrc,
          payloadBytes: packet.payload.byteLength,
        },
      },
    };
    if (packet.payloadType === this.#media.telephoneEventPayloadType && packet.payload.byteLength < 4) {
      // Refused before the jitter buffer: released later, it would take the packets released with
      // it down too. Its sequence number then counts as lost.
      throw new ProtocolError(NAME, `telephone-event payload of ${packet.payload.byteLength} bytes, expected 4`, {
        frame,
      });
    }
    const events: CallEvent[] = [];
    if (this.#remoteSsrc !== packet.ssrc) {
      if (this.#remoteSsrc !== undefined) {
        // A new source (a re-INVITE, a media server switching): what the old one left goes
        // first, then the new one continues where its audio ended.
        this.#stats.ssrcChanges++;
        this.#releaseAll(events);
        this.#restartInbound(this.#audioEndMs);
      }
      this.#remoteSsrc = packet.ssrc;
    }
    for (const released of this.#jitter.push(packet.sequence, packet))
      this.#onPacket(released.item, released.lostBefore, released.restart, events);
    return events;
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    // On hold nothing is sent, not even a digit or comfort noise (RFC 3264 §8.4); audio the
    // transport hands over anyway is reported unsent, so it never counts as heard.
    if (!this.#sending) return [];
    switch (command.type) {
      case 'audio':
        return this.#sender.audio(command.payload);
      case 'dtmf':
        return this.#sender.dtmf(command.digits);
      case 'clear':
        return this.#sender.clear();
      default:
        // No marks (no playback acks on RTP); hang-up is a BYE, sent by the call's dialog.
        return [];
    }
  }

  rawMessage(frame: string | Uint8Array): unknown {
    if (typeof frame === 'string') return frame;
    if (this.#lastDecoded?.frame === frame) {
      const info = this.#lastDecoded.info;
      this.#lastDecoded = undefined;
      return info;
    }
    return { bytes: frame.byteLength };
  }

  // -----------------------------------------------------------------------------------------------
  // Inbound

  #decodeSip(text: string): CallEvent[] {
    let message;
    try {
      message = parseSipMessage(text);
    } catch (error) {
      throw new ProtocolError(NAME, `text frame is not a SIP message: ${(error as SipParseError).message}`, {
        frame: text,
        cause: error,
      });
    }
    if (message.type === 'response') return [];
    switch (message.method) {
      case 'INVITE':
        return this.#onInvite(message, text);
      case 'ACK':
        // The answer to the offer we made for a re-INVITE without one: read like an offer (the
        // direction it states is the caller's; ours is the reverse).
        return message.body.byteLength > 0 && this.#started ? this.#onInvite(message, text) : [];
      case 'BYE': {
        const events: CallEvent[] = [];
        this.#releaseAll(events);
        events.push({ type: 'call_end', reason: 'bye' });
        return events;
      }
      case 'INFO':
        return this.#onInfo(message);
      default:
        return [];
    }
  }

  #onInvite(invite: SipRequest, text: string): CallEvent[] {
    if (invite.body.byteLength === 0) {
      // A re-INVITE without an offer (a session refresh): nothing changes for the media.
      if (this.#started) return [];
      throw new ProtocolError(NAME, 'INVITE without an SDP offer on the media connection', { frame: text });
    }
    let media: NegotiatedMedia;
    try {
      media = negotiateOffer(bodyText(invite), this.#preferences);
    } catch (error) {
      throw new ProtocolError(
        NAME,
        `INVITE with an SDP offer that cannot be answered: ${(error as SdpError).message}`,
        { frame: text, cause: error },
      );
    }
    const previous = this.#media;
    const changed =
      !this.#started ||
      media.label !== previous.label ||
      media.codec !== previous.codec ||
      media.payloadType !== previous.payloadType;
    const sending = sendsAudio(media);
    const events: CallEvent[] = [];
    if (changed) {
      // What the old stream left is read with its own payload types, then the new one starts.
      this.#releaseAll(events);
      this.#media = media;
      this.#restartInbound(0);
      this.#remoteSsrc = undefined;
      this.#started = true;
      this.#opened = true;
      this.#streams++;
      events.push(callStartFromInvite(invite, media, this.#streams));
      // A new stream starts unpaused in the transport: pause it again if it is held.
      if (!sending) events.push({ type: 'flow_control', paused: true });
    } else {
      this.#media = media;
      if (sending !== this.#sending) events.push({ type: 'flow_control', paused: !sending });
    }
    if (sending !== this.#sending) this.#onHold(!sending);
    return events;
  }

  /**
   * On hold (the caller's offer made the stream `sendonly` or `inactive` from its side, or gave
   * it no address) or back: the `flow_control` event makes the transport hold the model's audio,
   * so its playout clock stops with the audio; the first packet after the resume starts a new
   * talkspurt (marker bit, timestamp on the media clock, the sequence going on).
   */
  #onHold(held: boolean): void {
    this.#sending = !held;
    this.#sender.newTalkspurt();
  }

  /** SIP INFO DTMF: `application/dtmf-relay` (`Signal=5`, `Duration=160`) or `application/dtmf` (`5`). */
  #onInfo(info: SipRequest): CallEvent[] {
    const type = (info.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const body = bodyText(info);
    let digit: string | undefined;
    let durationMs: number | undefined;
    if (type === 'application/dtmf-relay') {
      // Line by line: a multi-line pattern starting with `^\s*` rescans the whole body from every
      // line, quadratic in a body of blank lines.
      for (const line of body.split('\n')) {
        const field = /^\s*(signal|duration)\s*=\s*(\S+)\s*$/i.exec(line);
        if (!field) continue;
        const name = field[1]!.toLowerCase();
        if (name === 'signal' && digit === undefined && field[2]!.length === 1) digit = field[2];
        if (name === 'duration' && durationMs === undefined && /^\d{1,9}$/.test(field[2]!))
          durationMs = Number(field[2]);
      }
    } else if (type === 'application/dtmf') {
      digit = body.trim();
    } else {
      return [];
    }
    if (digit === undefined || dtmfEventCode(digit) === undefined) {
      throw new ProtocolError(NAME, 'INFO without a DTMF digit', { frame: body });
    }
    this.#stats.dtmfIn++;
    const event: CallEvent = { type: 'dtmf', digit: digit.toUpperCase() };
    if (durationMs !== undefined) event.durationMs = durationMs;
    return [event];
  }

  /** Empties the jitter buffer (end of a stream) and settles a digit whose end never came. */
  #releaseAll(events: CallEvent[]): void {
    for (const released of this.#jitter.flush())
      this.#onPacket(released.item, released.lostBefore, released.restart, events);
    this.#settleDtmf(events);
  }

  /** A new numbering of the inbound stream; its audio continues at `offsetMs`. */
  #restartInbound(offsetMs: number): void {
    const stats = this.#jitter.stats;
    for (const key of Object.keys(this.#jitterTotals) as Array<keyof JitterBufferStats>)
      this.#jitterTotals[key] += stats[key];
    this.#jitter = new JitterBuffer(this.#jitterDepth);
    this.#lastTs32 = undefined;
    this.#offsetMs = offsetMs;
    this.#audioEndMs = offsetMs;
    this.#dtmfDone = [];
    this.#dtmfPending = undefined;
    if (offsetMs === 0) this.#audioSeq = 0;
  }

  /**
   * A packet's timestamp on the stream's unwrapped timeline (samples). RTP timestamps are 32-bit
   * and wrap: each step is read as the shorter way round from the previous packet (a jump of half
   * the range or more counts as backwards), so the timeline runs on across a wrap.
   *
   * The timeline never goes below its origin, so `timestampMs` is never negative: where the
   * sender's clock evidently restarted (a new numbering, a talkspurt starting behind the previous
   * packet, a timestamp before the origin) the packet starts a new time base that continues where
   * the last audio ended. Any other jump goes on as it is: the transport pads a hole the real time
   * allows (suppressed silence) and resynchronises a timestamp that cannot be right.
   */
  #timestampOf(packet: RtpPacket, restart: boolean, events: CallEvent[]): number {
    const last = this.#lastTs32;
    if (last !== undefined) {
      const step = tsDelta(packet.timestamp, last);
      if (restart || this.#extTs + step < this.#originTs || (packet.marker && step < 0)) {
        this.#rebase(events);
      } else {
        this.#extTs += step;
        this.#lastTs32 = packet.timestamp;
        return this.#extTs;
      }
    }
    this.#lastTs32 = packet.timestamp;
    this.#extTs = packet.timestamp;
    this.#originTs = packet.timestamp;
    return this.#extTs;
  }

  /** A new time base within the source: the next packet continues where the last audio ended. */
  #rebase(events: CallEvent[]): void {
    this.#stats.timestampRebases++;
    // A digit still waiting for its end is read on the old timeline.
    this.#settleDtmf(events);
    this.#lastTs32 = undefined;
    this.#offsetMs = this.#audioEndMs;
  }

  #onPacket(packet: RtpPacket, lostBefore: number, restart: boolean, events: CallEvent[]): void {
    const media = this.#media;
    const ts = this.#timestampOf(packet, restart, events);
    const rate = media.format.sampleRate / 1000;
    if (packet.payloadType === media.payloadType) {
      if (this.#dtmfPending && ts > this.#dtmfPending.ts + this.#dtmfPending.duration + media.format.sampleRate)
        this.#settleDtmf(events);
      if (packet.payload.byteLength === 0) return;
      this.#audioSeq += 1 + lostBefore;
      // Never negative: the timeline does not go below its origin (see #timestampOf).
      const timestampMs = this.#offsetMs + (ts - this.#originTs) / rate;
      const event: AudioEvent = { type: 'audio', payload: packet.payload, sequence: this.#audioSeq, timestampMs };
      this.#audioEndMs = timestampMs + packet.payload.byteLength / rate;
      events.push(event);
      return;
    }
    if (lostBefore > 0) this.#audioSeq += lostBefore;
    if (packet.payloadType === media.telephoneEventPayloadType) {
      this.#onTelephoneEvent(packet, ts, events);
      return;
    }
    if (packet.payloadType === media.comfortNoisePayloadType) return; // silence: the timestamp gap is padded
    this.#stats.unknownPayloadType++;
  }

  #onTelephoneEvent(packet: RtpPacket, ts: number, events: CallEvent[]): void {
    let event;
    try {
      event = parseTelephoneEvent(packet.payload);
    } catch (error) {
      throw new ProtocolError(NAME, (error as RtpFormatError).message, { frame: packet.payload, cause: error });
    }
    const digit = dtmfDigit(event.event);
    if (digit === undefined || this.#dtmfDone.includes(ts)) return; // not a digit, or its end retransmitted
    const pending = this.#dtmfPending;
    if (pending && pending.ts !== ts) this.#settleDtmf(events); // the previous event's end was lost
    if (!event.end) {
      this.#dtmfPending = { ts, digit, duration: event.duration };
      return;
    }
    this.#dtmfPending = undefined;
    this.#emitDtmf(ts, digit, event.duration, events);
  }

  #settleDtmf(events: CallEvent[]): void {
    const pending = this.#dtmfPending;
    if (!pending) return;
    this.#dtmfPending = undefined;
    this.#emitDtmf(pending.ts, pending.digit, pending.duration, events);
  }

  #emitDtmf(ts: number, digit: string, duration: number, events: CallEvent[]): void {
    this.#dtmfDone.push(ts);
    if (this.#dtmfDone.length > 16) this.#dtmfDone.shift();
    this.#stats.dtmfIn++;
    const event: CallEvent = { type: 'dtmf', digit };
    if (duration > 0) event.durationMs = duration / (this.#media.format.sampleRate / 1000);
    events.push(event);
  }
}
