/**
 * Cold transfer of a Bandwidth call to a number or a SIP URI, as a `TransferHandler` for core's
 * `transferCallTool`.
 *
 * The Voice API moves a live call by redirecting it to a URL that answers with new BXML (update
 * call, `state: active`, `redirectUrl`). So the handler redirects the call to an endpoint of yours
 * and names the target in that URL's query (`transfer_to`, `transfer_name`); the endpoint reads it
 * back with {@link readBandwidthTransfer} and answers with `bandwidthTransferBxml({ to })`. Give
 * the redirect credentials (`username`, `password`) and check them on that endpoint
 * (`assertBandwidthAuth`), and transfer only to destinations you know: otherwise anyone who finds
 * the URL could make your account dial where they like.
 */
import { ConfigError, type TransferHandler } from '@switchboard/core';
import { absoluteHttpUrl } from '@switchboard/core/protocol';
import type { BandwidthCallControl } from './call-control.js';

/** The query parameters of the redirect URL that carry the target. */
const TO = 'transfer_to';
const NAME = 'transfer_name';
const SIP_URI = /^sips?:[^\s<>"']{1,250}$/i;
const NUMBER = /^\+?[0-9]{3,20}$/;

export type BandwidthTransferOptions = {
  /** Voice API access for the account the call belongs to. */
  callControl: BandwidthCallControl;
  /** Your endpoint that answers with `bandwidthTransferBxml(readBandwidthTransfer(request URL))`. */
  url: string;
  /** How Bandwidth requests `url`; default POST. */
  method?: 'POST' | 'GET';
  /** Basic credentials Bandwidth sends to `url`: check them there. */
  username?: string;
  password?: string;
};

/** A transfer target as read back from the endpoint's URL. */
export type BandwidthTransferDestination = {
  /** An E.164 number or a SIP URI. */
  to: string;
  /** The entry of the transfer tool's table that was picked. */
  name?: string;
};

function checkDestination(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value.trim() : '';
  return SIP_URI.test(text) || NUMBER.test(text) ? text : undefined;
}

/**
 * A `TransferHandler` that redirects a Bandwidth call to your BXML endpoint (see the module note).
 * Resolves with `{ alreadyEnded }`; the call's media stream ends with the redirect.
 */
export function bandwidthTransfer(options: BandwidthTransferOptions): TransferHandler {
  if (!options || typeof options !== 'object' || typeof options.callControl?.redirect !== 'function')
    throw new ConfigError('bandwidthTransfer needs { callControl, url }');
  const base = absoluteHttpUrl(options.url, 'bandwidthTransfer: url');
  const { callControl, method, username, password } = options;
  return async (request) => {
    const callId = request.callId ?? request.callStart?.callId;
    if (!callId) throw new ConfigError("bandwidthTransfer: the call's id is unknown (no callId in its call_start)");
    const to = checkDestination(request.destination);
    if (to === undefined)
      throw new ConfigError('bandwidthTransfer: the destination must be a phone number or a sip: URI');
    const url = new URL(base);
    url.searchParams.set(TO, to);
    if (request.name) url.searchParams.set(NAME, request.name);
    const target: Parameters<BandwidthCallControl['redirect']>[1] = { url: url.href };
    if (method !== undefined) target.method = method;
    if (username !== undefined) target.username = username;
    if (password !== undefined) target.password = password;
    return callControl.redirect(callId, target);
  };
}

/**
 * The target {@link bandwidthTransfer} wrote into the URL of the request Bandwidth sent your
 * endpoint (`req.url`, path and query, or an absolute URL); `undefined` when it names none, or
 * names something that is neither a phone number nor a SIP URI.
 */
export function readBandwidthTransfer(url: string | URL): BandwidthTransferDestination | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url instanceof URL ? url.href : url, 'http://localhost');
  } catch {
    return undefined;
  }
  const to = checkDestination(parsed.searchParams.get(TO));
  if (to === undefined) return undefined;
  const name = parsed.searchParams.get(NAME);
  return name ? { to, name } : { to };
}
