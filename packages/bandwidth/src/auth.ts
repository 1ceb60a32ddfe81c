/**
 * Checking that a request came from Bandwidth. Bandwidth signs nothing; it authenticates itself
 * with Basic credentials you choose:
 * - on the media WebSocket's upgrade request, the `destinationUsername`/`destinationPassword` of
 *   `<StartStream>` (sent in the `Authorization` header of the initial connection, per the
 *   attribute's description in Bandwidth's SDKs);
 * - on voice webhooks, the credentials set on the Voice application or on the verb
 *   (`username`/`password`), per RFC 7235
 *   (https://dev.bandwidth.com/guides/callbacks/callbacks.html, "Authenticated Callbacks").
 *
 * Basic credentials carry no time and no nonce, so a replay guard has nothing to key on: serve the
 * routes over TLS only, which Bandwidth requires whenever credentials are set.
 */
import { ConfigError, WebhookSignatureError, base64Encode } from '@switchboard/core';
import { constantTimeEqual, readHeader, type RequestHeaders } from '@switchboard/core/protocol';

/** Request headers: a plain object (Node) or a `Headers` (fetch); the same as core's `RequestHeaders`. */
export type BandwidthHeaders = RequestHeaders;

export type ValidateBandwidthAuthOptions = {
  /** Headers of the request (the WebSocket upgrade, or a webhook). */
  headers: BandwidthHeaders;
  /** The user name you gave Bandwidth. */
  username: string;
  /** The password you gave Bandwidth. */
  password: string;
};

const encoder = new TextEncoder();

function checkCredentials(options: ValidateBandwidthAuthOptions): void {
  if (
    !options ||
    typeof options.username !== 'string' ||
    options.username.length === 0 ||
    options.username.includes(':') ||
    typeof options.password !== 'string' ||
    options.password.length === 0
  ) {
    throw new ConfigError(
      'Bandwidth request verification needs the username (without ":") and password you gave Bandwidth',
    );
  }
}

function authorization(headers: BandwidthHeaders): string | undefined {
  return readHeader(headers, 'authorization');
}

/**
 * True when the request carries the expected Basic credentials. Headers that are missing, not a
 * header map, or hold an `Authorization` that is not Basic answer false. The comparison takes the
 * same time wherever the credentials differ.
 */
export function validateBandwidthAuth(options: ValidateBandwidthAuthOptions): boolean {
  checkCredentials(options);
  const header = authorization(options.headers);
  if (header === undefined) return false;
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (!match) return false;
  const expected = base64Encode(encoder.encode(`${options.username}:${options.password}`));
  return constantTimeEqual(match[1]!, expected);
}

/** Like {@link validateBandwidthAuth}, but throws a `WebhookSignatureError` saying what is wrong. */
export function assertBandwidthAuth(options: ValidateBandwidthAuthOptions): void {
  checkCredentials(options);
  if (validateBandwidthAuth(options)) return;
  throw new WebhookSignatureError(
    authorization(options.headers) === undefined
      ? 'missing Authorization header: no credentials were set on Bandwidth, or the request did not come from Bandwidth'
      : 'the Authorization header does not carry the expected Basic credentials',
  );
}
