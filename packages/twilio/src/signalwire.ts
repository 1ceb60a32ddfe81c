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
import { ConfigError, WebhookSignatureError, type ReplayGuard } from '@switchboard/core';
import { constantTimeEqual, readHeader } from '@switchboard/core/protocol';
import {
  throwUnlessValid,
  twilioSignatureVerdict,
  type TwilioHeaders,
  type TwilioRequestBody,
  type TwilioSignedParams,
} from './signature.js';
import { connectStreamDocument, escapeXml, type ConnectStreamTwimlOptions } from './twiml.js';

// ---------------------------------------------------------------------------------------------
// cXML

/** `codec` values SignalWire documents for `<Stream>`; others in the `NAME@RATEh` form pass through. */
export type SignalWireStreamCodec = 'PCMU@8000h' | 'L16@16000h' | 'L16@24000h' | (string & {});

export type ConnectStreamCxmlOptions = ConnectStreamTwimlOptions & {
  /** The stream's codec; default SignalWire's, `PCMU@8000h`. `L16@16000h` suits speech models best. */
  codec?: SignalWireStreamCodec;
  /**
   * Sent as `Authorization: Bearer <token>` on the WebSocket upgrade; check it with
   * {@link validateSignalWireStreamAuthorization}.
   */
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
  // sorted and once each: both are accepted. SignalWire has no SharedKey settings. Its library
  // reads the URL with url-parse, which lower-cases scheme and host and keeps the rest as given.
  return twilioSignatureVerdict(
    { authToken: signingKey, signature, url, params, body, replayGuard },
    { valuesInGivenOrder: true, noSettings: true, lowerHost: true },
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
