/**
 * Checking who opened the media WebSocket. Exotel authenticates a Voicebot stream either by IP
 * allow-listing or by Basic credentials written into the stream URL
 * (`wss://<API_KEY>:<API_TOKEN>@bot.example.com/media`), which it sends as
 * `Authorization: Basic base64(API_KEY:API_TOKEN)` on the upgrade request
 * (https://developer.exotel.com/docs/agentstream/stream-voicebot-applet, "Authentication").
 */
import { ConfigError, WebhookSignatureError, base64Encode } from '@switchboard/core';
import { constantTimeEqual, readHeader, type RequestHeaders } from '@switchboard/core/protocol';

/** Request headers: a plain object (Node) or a `Headers` (fetch); the same as core's `RequestHeaders`. */
export type ExotelHeaders = RequestHeaders;

export type ValidateExotelUpgradeOptions = {
  /** Headers of the WebSocket upgrade request (a plain object as Node gives them, or a `Headers`). */
  headers: ExotelHeaders;
  /** The user name written into the stream URL (your API key). */
  apiKey: string;
  /** The password written into the stream URL (your API token). */
  apiToken: string;
};

const encoder = new TextEncoder();

function authorization(headers: ExotelHeaders): string | undefined {
  return readHeader(headers, 'authorization');
}

function checkCredentials(options: ValidateExotelUpgradeOptions): void {
  if (
    typeof options?.apiKey !== 'string' ||
    options.apiKey.length === 0 ||
    typeof options.apiToken !== 'string' ||
    options.apiToken.length === 0
  ) {
    throw new ConfigError('Exotel upgrade verification needs the apiKey and apiToken written into the stream URL');
  }
}

/**
 * True when the upgrade request carries the Basic credentials of the stream URL. Headers that are
 * missing, not a header map, or hold an `Authorization` that is not a string answer false.
 */
export function validateExotelUpgrade(options: ValidateExotelUpgradeOptions): boolean {
  checkCredentials(options);
  const header = authorization(options.headers);
  if (header === undefined) return false;
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (!match) return false;
  const expected = base64Encode(encoder.encode(`${options.apiKey}:${options.apiToken}`));
  return constantTimeEqual(match[1]!, expected);
}

/**
 * Like {@link validateExotelUpgrade}, but throws a `WebhookSignatureError` when the credentials are missing or wrong.
 */
export function assertExotelUpgrade(options: ValidateExotelUpgradeOptions): void {
  checkCredentials(options);
  const missing = authorization(options.headers) === undefined;
  if (!validateExotelUpgrade(options)) {
    throw new WebhookSignatureError(
      missing
        ? 'missing Authorization header: the stream URL carries no credentials, or the request did not come from Exotel'
        : 'the Authorization header does not carry the expected credentials',
    );
  }
}
