/**
 * SignalWire's side of a cXML stream, for tests and offline development: its peer simulator and
 * the SignalWire conformance adapter (`@switchboard/twilio/testing`).
 */
import { ConfigError, swapBytes16, type AudioFormat, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { peerAudioConverter, type ConformanceAdapter, type PeerSimulator } from '@switchboard/core/protocol';
import { TwilioPeerSimulator } from './peer.js';
import { TwilioMediaStreamProtocol, type L16ByteOrder } from './protocol.js';
import { SignalWireRealtimeTransport } from './transport.js';

const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };

// ---------------------------------------------------------------------------------------------
// Peer simulator

export type SignalWirePeerSimulatorOptions = {
  /**
   * The stream's format on the wire (`codec`): μ-law 8 kHz, L16 16 kHz or L16 24 kHz. Default:
   * the format of each `call_start` passed to `encodeInbound`.
   */
  format?: AudioFormat;
  /** The format of the audio events passed to `encodeInbound`, converted to `format`. Default: `format`. */
  inputFormat?: AudioFormat;
  /**
   * Byte order of L16 payloads on the wire. Default `little-endian` (the transport's default).
   * Audio events passed to `encodeInbound`, and the audio `decodeOutbound` returns, stay
   * little-endian; only the wire carries big-endian samples.
   */
  l16ByteOrder?: L16ByteOrder;
  /** Ids used when a `call_start` has none. Generated (UUIDs, as SignalWire's) when absent. */
  streamSid?: string;
  callSid?: string;
  accountSid?: string;
};

/** SignalWire's spelling of `start.mediaFormat.encoding`. */
function signalwireEncoding(format: AudioFormat): string {
  return format.encoding === 'l16' ? 'audio/x-L16' : format.encoding === 'pcma' ? 'audio/x-alaw' : 'audio/x-mulaw';
}

function checkStreamFormat(format: AudioFormat, what: string): AudioFormat {
  const ok =
    format &&
    ((format.encoding === 'l16' &&
      (format.sampleRate === 16000 || format.sampleRate === 24000 || format.sampleRate === 8000)) ||
      ((format.encoding === 'pcmu' || format.encoding === 'pcma') && format.sampleRate === 8000));
  if (!ok) throw new ConfigError(`${what} must be μ-law/A-law at 8000 Hz or L16 at 8000, 16000 or 24000 Hz.`);
  return { encoding: format.encoding, sampleRate: format.sampleRate, channels: 1 };
}

/**
 * SignalWire's side of a bidirectional cXML stream, for tests and offline development: Twilio's
 * frames with SignalWire's ids (UUIDs) and `audio/x-L16` media format; audio events are converted
 * from `inputFormat` into the wire `format`. What the bridge sends is checked as strictly as
 * {@link TwilioPeerSimulator} checks it, and `dtmf` frames (one keypad digit each) are taken too.
 */
export class SignalWirePeerSimulator implements PeerSimulator {
  readonly #options: SignalWirePeerSimulatorOptions;
  readonly #twilio: TwilioPeerSimulator;
  #wire: AudioFormat;
  #convert: (bytes: Uint8Array) => Uint8Array;
  readonly #bigEndian: boolean;

  constructor(options: SignalWirePeerSimulatorOptions = {}) {
    const order = options.l16ByteOrder ?? 'little-endian';
    if (order !== 'little-endian' && order !== 'big-endian') {
      throw new ConfigError(
        `SignalWirePeerSimulator: l16ByteOrder must be 'little-endian' or 'big-endian', got ${JSON.stringify(String(order).slice(0, 40))}.`,
      );
    }
    this.#bigEndian = order === 'big-endian';
    this.#options = {
      ...options,
      ...(options.format ? { format: checkStreamFormat(options.format, '`format`') } : {}),
      ...(options.inputFormat ? { inputFormat: checkStreamFormat(options.inputFormat, '`inputFormat`') } : {}),
    };
    this.#twilio = new TwilioPeerSimulator({
      streamSid: options.streamSid ?? globalThis.crypto.randomUUID(),
      callSid: options.callSid ?? globalThis.crypto.randomUUID(),
      accountSid: options.accountSid ?? globalThis.crypto.randomUUID(),
      // SignalWire, unlike Twilio, plays DTMF sent on the stream: `{"event":"dtmf","streamSid","dtmf":{"digit"}}`.
      acceptDtmf: true,
    });
    this.#wire = this.#options.format ?? MULAW_8K;
    this.#convert = peerAudioConverter(this.#options.inputFormat ?? this.#wire, this.#wire);
  }

  /** The stream's format on the wire. */
  get format(): AudioFormat {
    return this.#wire;
  }

  /** The sid of the stream announced by the last `start`, if any. */
  get streamSid(): string | undefined {
    return this.#twilio.streamSid;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    if (event.type === 'call_start') {
      this.#wire = this.#options.format ?? checkStreamFormat(event.format, 'the call_start format');
      this.#convert = peerAudioConverter(this.#options.inputFormat ?? this.#wire, this.#wire);
      return this.#twilio.encodeInbound({ ...event, format: this.#wire }).map((frame) => {
        if (typeof frame !== 'string' || !frame.startsWith('{"event":"start"')) return frame;
        const message = JSON.parse(frame) as { start: { mediaFormat: { encoding: string } } };
        message.start.mediaFormat.encoding = signalwireEncoding(this.#wire);
        return JSON.stringify(message);
      });
    }
    if (event.type === 'audio') {
      const converted = this.#convert(event.payload);
      const payload = this.#swaps() ? swapBytes16(converted) : converted;
      const { payloadBase64: _ignored, ...rest } = event;
      return payload.byteLength === 0 ? [] : this.#twilio.encodeInbound({ ...rest, payload });
    }
    return this.#twilio.encodeInbound(event);
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    const commands = this.#twilio.decodeOutbound(frame);
    if (!this.#swaps()) return commands;
    return commands.map((command) =>
      command.type === 'audio' ? { type: 'audio', payload: swapBytes16(command.payload) } : command,
    );
  }

  /** True when the wire carries big-endian L16 that must be swapped to and from little-endian. */
  #swaps(): boolean {
    return this.#bigEndian && this.#wire.encoding === 'l16';
  }
}

// ---------------------------------------------------------------------------------------------
// Conformance

/**
 * The SignalWire dialect as the conformance harness runs it: an L16 16 kHz stream
 * (`codec="L16@16000h"`), its peer converting the traces' μ-law into that format.
 */
export const signalwireConformance: ConformanceAdapter = {
  name: 'signalwire',
  capabilities: new TwilioMediaStreamProtocol({ dialect: 'signalwire' }).capabilities,
  carrierFormat: L16_16K,
  // A recording of a SignalWire call (carrier "signalwire") replays frame for frame.
  traceCarrier: 'signalwire',
  createProtocol: () => new TwilioMediaStreamProtocol({ dialect: 'signalwire' }),
  createTransport: ({ connection, url, now, clock }) =>
    new SignalWireRealtimeTransport({ signalwireWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new SignalWirePeerSimulator({ format: L16_16K, inputFormat: MULAW_8K }),
};
