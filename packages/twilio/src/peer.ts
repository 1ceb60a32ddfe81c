import { ProtocolError, base64Encode, type AudioFormat, type CallEvent, type OutboundCommand } from '@switchboard/core';
import {
  KEYPAD_DIGIT,
  PeerMediaCounter,
  isJsonObject,
  rejectOutboundEvent,
  type JsonObject,
  type PeerSimulator,
  assertTextFrame,
  checkExactKeys,
  checkOutboundStreamId,
  readFrameObject,
  readOutboundMark,
  readOutboundMedia,
} from '@switchboard/core/protocol';

/** `start.mediaFormat` as it appears on the wire. */
export type TwilioMediaFormat = { encoding: string; sampleRate: number; channels: number };

export type TwilioPeerSimulatorOptions = {
  /** Stream sid used when a `call_start` event carries an empty `streamId`. Generated when absent. */
  streamSid?: string;
  /** Call sid used when a `call_start` event has no `callId`. Generated when absent. */
  callSid?: string;
  /** Account sid put in `start` and `stop`. Generated when absent. */
  accountSid?: string;
  /**
   * Exact `start.mediaFormat` to send (to imitate a dialect such as SignalWire's). When absent
   * it is derived from the `call_start` event's format.
   */
  mediaFormat?: TwilioMediaFormat;
  /** `start.tracks`; default `["inbound"]` (a bidirectional `<Connect><Stream>`). */
  tracks?: string[];
  /**
   * @internal Take `{"event":"dtmf","streamSid","dtmf":{"digit"}}` from the bridge, one upper-case
   * keypad digit per frame, as SignalWire does (its peer sets this); Twilio refuses DTMF.
   */
  acceptDtmf?: boolean;
};

/** Code of the Twilio warning raised for an invalid message from the bridge. */
export const TWILIO_INVALID_MESSAGE_CODE = 'twilio_31951';
/** Code of the Twilio warning raised for a binary frame from the bridge. */
export const TWILIO_BINARY_FRAME_CODE = 'twilio_31950';

function randomHex(bytes: number): string {
  const buf = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  let out = '';
  for (const b of buf) out += b.toString(16).padStart(2, '0');
  return out;
}

/** A random sid in Twilio's shape: two-letter prefix plus 32 hex digits (`MZ…`, `CA…`, `AC…`). */
export function generateTwilioSid(prefix: 'MZ' | 'CA' | 'AC' | (string & {})): string {
  return prefix + randomHex(16);
}

function wireEncoding(format: AudioFormat): string {
  switch (format.encoding) {
    case 'pcmu':
      return 'audio/x-mulaw';
    case 'pcma':
      return 'audio/x-alaw';
    case 'l16':
      return 'audio/l16';
  }
}

function bytesPerMs(format: AudioFormat): number {
  return (format.sampleRate / 1000) * (format.encoding === 'l16' ? 2 : 1);
}

function invalid(message: string, frame: unknown): never {
  throw new ProtocolError('twilio', `warning 31951: ${message}`, { frame, code: TWILIO_INVALID_MESSAGE_CODE });
}

/** Twilio's warning 31950, for a binary frame from the bridge. */
function binaryFrame(message: string, frame: unknown): never {
  throw new ProtocolError('twilio', `warning 31950: ${message}`, { frame, code: TWILIO_BINARY_FRAME_CODE });
}

/** The digit of an outbound `dtmf` frame: `dtmf` must be an object holding only `digit`, one upper-case keypad key. */
function readOutboundDtmfDigit(message: JsonObject, frame: string): string {
  const dtmf = message['dtmf'];
  if (!isJsonObject(dtmf)) invalid('dtmf is not an object', frame);
  checkExactKeys(dtmf, ['digit'], [], 'dtmf', frame, invalid);
  const digit = dtmf['digit'];
  // The bridge upper-cases what it sends, so a lower-case letter is refused.
  if (typeof digit !== 'string' || !KEYPAD_DIGIT.test(digit) || digit !== digit.toUpperCase()) {
    invalid('dtmf.digit is not one of 0-9, *, #, A-D', frame);
  }
  return digit;
}

/**
 * Twilio's side of a bidirectional Media Stream, for tests and offline development.
 *
 * `encodeInbound` writes the frames Twilio would send for a call event (with `connected`
 * first, string counters, a running media clock); `decodeOutbound` checks what the bridge
 * sends as strictly as Twilio does and throws a `ProtocolError` with code `twilio_31951`
 * (`twilio_31950` for binary frames) where Twilio would raise that warning.
 */
export class TwilioPeerSimulator implements PeerSimulator {
  readonly #options: TwilioPeerSimulatorOptions;
  readonly #accountSid: string;
  #connected = false;
  #sequenceNumber = 0;
  readonly #mediaCounter = new PeerMediaCounter();
  #streamSid: string | undefined;
  #callSid: string | undefined;
  #format: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

  constructor(options: TwilioPeerSimulatorOptions = {}) {
    this.#options = options;
    this.#accountSid = options.accountSid ?? generateTwilioSid('AC');
  }

  /** The sid of the stream announced by the last `start`, if any. */
  get streamSid(): string | undefined {
    return this.#streamSid;
  }

  /** The call sid announced by the last `start`, if any. */
  get callSid(): string | undefined {
    return this.#callSid;
  }

  get accountSid(): string {
    return this.#accountSid;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    const frames: string[] = [];
    if (!this.#connected) {
      this.#connected = true;
      frames.push(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    }
    switch (event.type) {
      case 'call_start':
        frames.push(this.#start(event));
        break;
      case 'audio':
        frames.push(this.#media(event));
        break;
      case 'dtmf':
        frames.push(
          JSON.stringify({
            event: 'dtmf',
            streamSid: this.#activeStream(),
            sequenceNumber: this.#nextSequence(),
            dtmf: { track: 'inbound_track', digit: event.digit },
          }),
        );
        break;
      case 'playback_ack':
        frames.push(
          JSON.stringify({
            event: 'mark',
            sequenceNumber: this.#nextSequence(),
            streamSid: this.#activeStream(),
            mark: { name: event.name },
          }),
        );
        break;
      case 'call_end':
        frames.push(
          JSON.stringify({
            event: 'stop',
            sequenceNumber: this.#nextSequence(),
            streamSid: this.#activeStream(),
            stop: { accountSid: this.#accountSid, callSid: this.#activeCall() },
          }),
        );
        break;
      case 'playback_cleared':
        // Twilio confirms a clear only by echoing the pending marks.
        break;
    }
    return frames;
  }

  /**
   * Frames a Twilio bridge must refuse as malformed (for `errors.malformed` of the conformance
   * harness): a media payload that is not base64, a mark without a name, a dtmf without a digit,
   * and a binary frame (Twilio sends JSON text only). Unknown events are not among them: Twilio
   * may add events, and a bridge ignores them.
   */
  malformedFrames(): Array<string | Uint8Array> {
    const sid = JSON.stringify(this.#streamSid ?? 'MZ00000000000000000000000000000000');
    return [
      `{"event":"media","streamSid":${sid},"media":{"track":"inbound","payload":"%%% not base64 %%%"}}`,
      `{"event":"mark","streamSid":${sid},"mark":{}}`,
      `{"event":"dtmf","streamSid":${sid},"dtmf":{}}`,
      Uint8Array.of(0x7b, 0x7d),
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, binaryFrame, 'Media Streams messages must be text frames, not binary');
    const message = readFrameObject(frame, invalid);
    const event = message['event'];
    let command: OutboundCommand;
    if (event === 'media') {
      checkExactKeys(message, ['event', 'streamSid', 'media'], [], 'the message', frame, invalid);
      command = { type: 'audio', payload: readOutboundMedia(message, frame, invalid) };
    } else if (event === 'mark') {
      checkExactKeys(message, ['event', 'streamSid', 'mark'], [], 'the message', frame, invalid);
      // Twilio takes an empty mark name.
      command = { type: 'mark', name: readOutboundMark(message, frame, invalid, { nonEmpty: false }) };
    } else if (event === 'clear') {
      checkExactKeys(message, ['event', 'streamSid'], [], 'the message', frame, invalid);
      command = { type: 'clear' };
    } else if (event === 'dtmf' && this.#options.acceptDtmf) {
      checkExactKeys(message, ['event', 'streamSid', 'dtmf'], [], 'the message', frame, invalid);
      command = { type: 'dtmf', digits: readOutboundDtmfDigit(message, frame) };
    } else {
      rejectOutboundEvent(
        event,
        this.#options.acceptDtmf ? 'media, mark, clear and dtmf' : 'media, mark and clear',
        frame,
        invalid,
      );
    }
    checkOutboundStreamId(message, 'streamSid', this.#streamSid, frame, invalid);
    return [command];
  }

  #nextSequence(): string {
    this.#sequenceNumber += 1;
    return String(this.#sequenceNumber);
  }

  /** The active stream sid; a stream without a `start` gets one so frames stay well-formed. */
  #activeStream(): string {
    this.#streamSid ??= this.#options.streamSid ?? generateTwilioSid('MZ');
    return this.#streamSid;
  }

  #activeCall(): string {
    this.#callSid ??= this.#options.callSid ?? generateTwilioSid('CA');
    return this.#callSid;
  }

  #start(event: Extract<CallEvent, { type: 'call_start' }>): string {
    this.#streamSid = event.streamId || this.#options.streamSid || generateTwilioSid('MZ');
    this.#callSid = event.callId ?? this.#options.callSid ?? generateTwilioSid('CA');
    this.#format = { ...event.format };
    // A new stream restarts its media counters; sequenceNumber counts the whole connection.
    this.#mediaCounter.reset();

    const start: Record<string, unknown> = {
      accountSid: this.#accountSid,
      streamSid: this.#streamSid,
      callSid: this.#callSid,
      tracks: this.#options.tracks ? [...this.#options.tracks] : ['inbound'],
      customParameters: { ...event.customParameters },
      mediaFormat: this.#options.mediaFormat
        ? { ...this.#options.mediaFormat }
        : { encoding: wireEncoding(event.format), sampleRate: event.format.sampleRate, channels: 1 },
    };
    if (event.from !== undefined) start['from'] = event.from;
    if (event.to !== undefined) start['to'] = event.to;
    return JSON.stringify({ event: 'start', sequenceNumber: this.#nextSequence(), start, streamSid: this.#streamSid });
  }

  #media(event: Extract<CallEvent, { type: 'audio' }>): string {
    const { chunk, timestampMs } = this.#mediaCounter.next(
      event,
      Math.round(event.payload.byteLength / bytesPerMs(this.#format)),
    );
    return JSON.stringify({
      event: 'media',
      sequenceNumber: this.#nextSequence(),
      media: {
        track: 'inbound',
        chunk: String(chunk),
        timestamp: String(timestampMs),
        payload: base64Encode(event.payload),
      },
      streamSid: this.#activeStream(),
    });
  }
}
