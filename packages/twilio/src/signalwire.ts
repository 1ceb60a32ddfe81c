/**
 * SignalWire's cXML `<Connect><Stream>`: Twilio Media Streams with SignalWire's codecs and
 * credentials.
 *
 * - Stream: https://developer.signalwire.com/compatibility-api/cxml/voice/stream — the same
 *   events as Twilio; `codec` `PCMU@8000h` (default), `L16@16000h` or `L16@24000h`, announced in
 *   `start.mediaFormat` as `audio/x-L16` with its `sampleRate`; ids are UUIDs; `authBearerToken`
 *   puts `Authorization: Bearer <token>` on the WebSocket upgrade (the upgrade is not signed).
 * - Webhooks: https://developer.signalwire.com/guides/webhook-security — each request is signed
 *   with the project's Signing Key (not the API token) in `X-SignalWire-Signature`; Compatibility
 *   (cXML) requests use Twilio's scheme, base64(HMAC-SHA1(key, url + sorted form parameters)),
 *   and the legacy `X-Twilio-Signature` name is accepted too
 *   (https://signalwire.com/docs/server-sdks/reference/python/core/security).
 */
import {
  ConfigError,
  Resampler,
  WebhookSignatureError,
  type ReplayGuard,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  pcm16FromBytes,
  pcm16ToBytes,
  swapBytes16,
  type AudioFormat,
  type CallEvent,
  type ConformanceAdapter,
  type OutboundCommand,
  type PeerSimulator,
  constantTimeEqual,
  readHeader,
} from '@switchboard/core';
import { TwilioPeerSimulator } from './peer.js';
import { TwilioMediaStreamProtocol, type L16ByteOrder } from './protocol.js';
import {
  throwUnlessValid,
  twilioSignatureVerdict,
  type TwilioHeaders,
  type TwilioRequestBody,
  type TwilioSignedParams,
} from './signature.js';
import { SignalWireRealtimeTransport } from './transport.js';
import { connectStreamDocument, escapeXml, type ConnectStreamTwimlOptions } from './twiml.js';

const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };

// ---------------------------------------------------------------------------------------------
// cXML

/** `codec` values SignalWire documents for `<Stream>`; others in the `NAME@RATEh` form pass through. */
export type SignalWireStreamCodec = 'PCMU@8000h' | 'L16@16000h' | 'L16@24000h' | (string & {});

export type ConnectStreamCxmlOptions = ConnectStreamTwimlOptions & {
  /** The stream's codec; default SignalWire's, `PCMU@8000h`. `L16@16000h` suits speech models best. */
  codec?: SignalWireStreamCodec;
  /** Sent as `Authorization: Bearer <token>` on the WebSocket upgrade; check it with {@link validateSignalWireStreamAuthorization}. */
  authBearerToken?: string;
  /** SignalWire manages delays and bursts of a bidirectional stream itself (`realtime="true"`). */
  realtime?: boolean;
};

const CODEC = /^[A-Za-z0-9]+@\d+h$/;

/**
 * cXML that connects the call to a bidirectional SignalWire stream:
 * `<Response>[<Say>]<Connect><Stream url codec authBearerToken realtime>[<Parameter/>…]</Stream></Connect></Response>`.
 */
export function connectStreamCxml(options: ConnectStreamCxmlOptions): string {
  let extra = '';
  if (options?.codec !== undefined) {
    if (typeof options.codec !== 'string' || !CODEC.test(options.codec)) {
      throw new ConfigError(
        'connectStreamCxml: codec must look like "L16@16000h" (PCMU@8000h, L16@16000h, L16@24000h)',
      );
    }
    extra += ` codec="${escapeXml(options.codec)}"`;
  }
  if (options?.authBearerToken !== undefined) {
    if (typeof options.authBearerToken !== 'string' || options.authBearerToken.length === 0) {
      throw new ConfigError('connectStreamCxml: authBearerToken must be a non-empty string');
    }
    extra += ` authBearerToken="${escapeXml(options.authBearerToken)}"`;
  }
  if (options?.realtime !== undefined) {
    if (typeof options.realtime !== 'boolean') throw new ConfigError('connectStreamCxml: realtime must be a boolean');
    extra += ` realtime="${options.realtime}"`;
  }
  return connectStreamDocument(options, extra, 'connectStreamCxml');
}

// ---------------------------------------------------------------------------------------------
// Signatures

export type ValidateSignalWireSignatureOptions = {
  /** The project's Signing Key (Dashboard → API credentials), not its API token. */
  signingKey: string;
  /** The `X-SignalWire-Signature` (or `X-Twilio-Signature`) header as received. */
  signature: string | undefined | null;
  /** The full URL SignalWire requested, query string included. */
  url: string;
  /** The form-encoded POST parameters; omit for GET requests. Not used when the URL carries `bodySHA256`. */
  params?: TwilioSignedParams;
  /**
   * The raw request body. Required when the URL carries a `bodySHA256` query parameter (a JSON
   * body, signed through the URL alone): the body must hash to it, and without a body such a
   * request does not verify. Not used otherwise.
   */
  body?: TwilioRequestBody | null;
  /**
   * Refuse a delivery already accepted (same URL and parameters, hence the same signature) within
   * the guard's TTL. Remembered only once the signature verified; the key is the signature, so
   * `replayGuard.forget(signature)` lets SignalWire's retry through after handling failed.
   */
  replayGuard?: ReplayGuard;
};

function checkSigningKey(signingKey: unknown): asserts signingKey is string {
  if (typeof signingKey !== 'string' || signingKey.length === 0) {
    throw new ConfigError("SignalWire signature validation needs the project's non-empty signingKey");
  }
}

function signalwireVerdict(options: ValidateSignalWireSignatureOptions) {
  checkSigningKey(options?.signingKey);
  const { signingKey, signature, url, params, body, replayGuard } = options;
  // SignalWire's helper library signs the values of a repeated name in the order given, Twilio's
  // sorted and once each: both are accepted. SignalWire has no SharedKey settings.
  return twilioSignatureVerdict(
    { authToken: signingKey, signature, url, params, body, replayGuard },
    { valuesInGivenOrder: true, noSettings: true },
  );
}

/**
 * True when `signature` is SignalWire's signature of a Compatibility (cXML) webhook: Twilio's
 * scheme keyed with the project's Signing Key, HMAC-SHA1 (the URL is also tried in the forms
 * Twilio's checks accept, and the values of a repeated parameter in the order given as well as
 * sorted); a URL with `bodySHA256` verifies only with the `body` that hashes to it; with a
 * `replayGuard`, also that the delivery was not accepted before.
 */
export async function validateSignalWireSignature(options: ValidateSignalWireSignatureOptions): Promise<boolean> {
  return (await signalwireVerdict(options)) === 'valid';
}

/**
 * Like {@link validateSignalWireSignature}, throwing a `WebhookSignatureError` when the header is
 * missing, does not match, or (with a `replayGuard`) the delivery was replayed.
 */
export async function assertSignalWireSignature(options: ValidateSignalWireSignatureOptions): Promise<void> {
  throwUnlessValid(await signalwireVerdict(options), 'X-SignalWire-Signature', 'SignalWire');
}

/** The `X-SignalWire-Signature` header, else the legacy `X-Twilio-Signature` (case-insensitive). */
export function readSignalWireSignatureHeader(headers: TwilioHeaders): string | undefined {
  return readHeader(headers, 'x-signalwire-signature') ?? readHeader(headers, 'x-twilio-signature');
}

export type ValidateSignalWireStreamAuthorizationOptions = {
  /** Headers of the WebSocket upgrade request. */
  headers: TwilioHeaders;
  /** The `authBearerToken` given to `<Stream>`. */
  bearerToken: string;
};

/**
 * True when the media WebSocket upgrade carries `Authorization: Bearer <bearerToken>` (the
 * stream's `authBearerToken`), compared in constant time.
 */
export function validateSignalWireStreamAuthorization(options: ValidateSignalWireStreamAuthorizationOptions): boolean {
  if (typeof options?.bearerToken !== 'string' || options.bearerToken.length === 0) {
    throw new ConfigError(
      'validateSignalWireStreamAuthorization needs the non-empty bearerToken given to <Stream authBearerToken>',
    );
  }
  const value = readHeader(options.headers ?? {}, 'authorization');
  const match = value === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match !== null && constantTimeEqual(match[1]!, options.bearerToken);
}

/** Like {@link validateSignalWireStreamAuthorization}, throwing a `WebhookSignatureError` on failure. */
export function assertSignalWireStreamAuthorization(options: ValidateSignalWireStreamAuthorizationOptions): void {
  if (!validateSignalWireStreamAuthorization(options)) {
    throw new WebhookSignatureError('the media stream upgrade does not carry the expected Authorization: Bearer token');
  }
}

// ---------------------------------------------------------------------------------------------
// Peer simulator

/** Converts audio chunk by chunk between G.711 / L16 formats, keeping the resampler's state. */
class FormatConverter {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  readonly #resampler: Resampler | undefined;

  constructor(from: AudioFormat, to: AudioFormat) {
    this.from = from;
    this.to = to;
    this.#resampler = from.sampleRate === to.sampleRate ? undefined : new Resampler(from.sampleRate, to.sampleRate);
  }

  convert(bytes: Uint8Array): Uint8Array {
    if (this.from.encoding === this.to.encoding && !this.#resampler) return bytes;
    const encoding = this.from.encoding;
    let samples =
      encoding === 'pcmu' ? decodeMuLaw(bytes) : encoding === 'pcma' ? decodeALaw(bytes) : pcm16FromBytes(bytes);
    if (this.#resampler) samples = this.#resampler.process(samples);
    return this.to.encoding === 'pcmu'
      ? encodeMuLaw(samples)
      : this.to.encoding === 'pcma'
        ? encodeALaw(samples)
        : pcm16ToBytes(samples);
  }
}

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
  #converter: FormatConverter;
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
    this.#converter = new FormatConverter(this.#options.inputFormat ?? this.#wire, this.#wire);
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
      this.#converter = new FormatConverter(this.#options.inputFormat ?? this.#wire, this.#wire);
      return this.#twilio.encodeInbound({ ...event, format: this.#wire }).map((frame) => {
        if (typeof frame !== 'string' || !frame.startsWith('{"event":"start"')) return frame;
        const message = JSON.parse(frame) as { start: { mediaFormat: { encoding: string } } };
        message.start.mediaFormat.encoding = signalwireEncoding(this.#wire);
        return JSON.stringify(message);
      });
    }
    if (event.type === 'audio') {
      const converted = this.#converter.convert(event.payload);
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
