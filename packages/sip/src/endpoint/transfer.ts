/**
 * The SIP endpoint's part of a transfer (`transferCallTool({ transfer: sipTransfer() })`): a
 * REFER on the call's dialog, carrying the call's context as `X-` header fields.
 */
import { ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import { DEFAULT_TRANSFER_TIMEOUT_MS, headerValue, type SipReferOptions } from './refer.js';

/** Where the call's context travels in the REFER. */
export type SipTransferContextPlacement = 'refer-to' | 'request' | 'both' | 'none';

export type SipTransferOptions = {
  /**
   * Where the context (`X-Transfer-*` fields and the call's custom parameters) goes: on the REFER
   * request itself (`request`, the default), where a PBX or B2BUA handling the REFER can read
   * them; in the `Refer-To` URI as header parameters (`refer-to`, RFC 3261 §19.1.5), for a
   * transferee that builds its INVITE from the URI; both; or nowhere. baresip 1.0 copies a
   * `Refer-To` URI's header part into the Request-URI of its INVITE instead of making header
   * fields of it, which is why `refer-to` is not the default.
   */
  context?: SipTransferContextPlacement;
  /**
   * Which of the call's custom parameters (its INVITE's `X-` headers, without the prefix) travel
   * along as `X-<name>`: all (`true`, the default), none (`false`), or those named.
   */
  customParameters?: boolean | string[];
  /** More header fields for the context (names with their `X-` prefix), from the request. */
  headers?: (request: TransferRequest) => Record<string, string> | undefined;
  /** The `Referred-By` URI. Default: the URI the caller called. */
  referredBy?: string;
  /**
   * When the transfer counts as done: `accepted` (the REFER's 202) or `completed` (a NOTIFY
   * reporting the new call answered; a failed one rejects). Default `completed`.
   */
  waitFor?: 'accepted' | 'completed';
  /** Longest wait for the NOTIFY of the outcome, ms. Default 60 000. */
  timeoutMs?: number;
  /**
   * The `Refer-To` URI for a destination that is not one already: default `tel:<number>` for a
   * phone number; give this to route numbers through a domain (`sip:${number}@pbx.example.com`).
   */
  toUri?: (destination: string) => string;
};

/** What `sipTransfer` asks of the call's transport: a {@link SipRealtimeTransport}'s `transfer`. */
type ReferringTransport = { transfer(target: string, options?: SipReferOptions): Promise<void> };

/** What a `sipTransfer` handler resolves with (the tool's output to the model). */
export type SipTransferResult = {
  transferred: true;
  destination: string;
  target: string;
  waitedFor: 'accepted' | 'completed';
};

/** Custom parameters travelling along at most; more would not fit a UDP datagram. */
const MAX_PARAMETERS = 16;

/** The `Refer-To` URI of a destination: a SIP or tel URI as it is, a phone number as a tel URI. */
export function transferTarget(destination: string, toUri?: (destination: string) => string): string {
  const text = typeof destination === 'string' ? destination.trim() : '';
  if (/^(sips?|tel):[^\s<>]+$/i.test(text)) return text;
  if (/^\+?[0-9][0-9().\- ]*$/.test(text)) {
    const number = text.replace(/[().\- ]/g, '');
    return toUri ? toUri(number) : `tel:${number}`;
  }
  if (toUri) return toUri(text);
  throw new ConfigError(
    `A SIP transfer destination must be a sip:, sips: or tel: URI or a phone number, got ${JSON.stringify(destination)}.`,
  );
}

/** The context header fields of a transfer request, names with their `X-` prefix. */
export function transferContext(
  request: TransferRequest,
  options: Pick<SipTransferOptions, 'customParameters' | 'headers'> = {},
): Record<string, string> {
  const fields: Record<string, string> = {};
  const which = options.customParameters ?? true;
  const parameters = request.callStart?.customParameters ?? {};
  let count = 0;
  for (const [name, value] of Object.entries(parameters)) {
    if (which === false || (Array.isArray(which) && !which.includes(name))) continue;
    if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(name) || typeof value !== 'string') continue;
    if (++count > MAX_PARAMETERS) break;
    fields[`X-${name}`] = headerValue(value);
  }
  fields['X-Transfer-Destination'] = headerValue(request.name);
  if (request.reason) fields['X-Transfer-Reason'] = headerValue(request.reason);
  if (request.summary) fields['X-Transfer-Summary'] = headerValue(request.summary);
  const extra = options.headers?.(request);
  if (extra) for (const [name, value] of Object.entries(extra)) fields[name] = value;
  return fields;
}

/**
 * A transfer handler for calls of a {@link SipEndpoint}: a REFER (RFC 3515) to the destination
 * on the call's dialog, with the call's context as `X-` header fields (see
 * {@link SipTransferOptions.context}). Resolves once the transferee reported the new call
 * answered (or, `waitFor: 'accepted'`, once it accepted the REFER); rejects with a
 * CallControlError when it refused or the transfer failed.
 */
export function sipTransfer(options: SipTransferOptions = {}): TransferHandler {
  const placement = options.context ?? 'request';
  if (!['refer-to', 'request', 'both', 'none'].includes(placement))
    throw new ConfigError(
      `\`context\` must be 'refer-to', 'request', 'both' or 'none', got ${JSON.stringify(placement)}.`,
    );
  const waitFor = options.waitFor ?? 'completed';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
  return async (request: TransferRequest): Promise<SipTransferResult> => {
    const transport = request.transport as unknown as Partial<ReferringTransport>;
    if (typeof transport?.transfer !== 'function')
      throw new ConfigError('sipTransfer: the call is not a SIP endpoint call (its transport has no REFER).');
    const target = transferTarget(request.destination, options.toUri);
    const context = placement === 'none' ? {} : transferContext(request, options);
    const refer: SipReferOptions = { waitFor, timeoutMs };
    if (placement === 'refer-to' || placement === 'both') refer.uriHeaders = context;
    if (placement === 'request' || placement === 'both') refer.headers = context;
    if (options.referredBy !== undefined) refer.referredBy = options.referredBy;
    await transport.transfer(target, refer);
    return { transferred: true, destination: request.name, target, waitedFor: waitFor };
  };
}
