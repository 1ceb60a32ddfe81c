/**
 * What a REFER (RFC 3515) carries besides its target, and how its outcome is followed: the
 * transferee reports the new call's progress in NOTIFYs whose bodies are SIP fragments
 * (`message/sipfrag`), the last one with `Subscription-State: terminated`.
 */
import { CallControlError, ConfigError } from '@switchboard/core';
import type { SipCall, SipCallEndReason, SipTransferProgress } from './call.js';

/** How a transfer is sent and when it counts as done. */
export type SipReferOptions = {
  /** The `Referred-By` URI (RFC 3892). Default: the URI the caller called. */
  referredBy?: string;
  /** Header fields added to the REFER itself (`X-Transfer-Reason: ...`). */
  headers?: Record<string, string>;
  /**
   * Header fields embedded in the `Refer-To` URI (RFC 3261 §19.1.5:
   * `<sip:bob@example.com?X-Reason=billing>`): a transferee that builds its INVITE from the URI
   * puts them in that INVITE, so they reach the transfer target. Ignored for a `tel:` target,
   * which has no header part.
   */
  uriHeaders?: Record<string, string>;
  /**
   * When the returned promise resolves: `accepted`, on the REFER's 2xx (202); `completed`, on the
   * NOTIFY that reports a 2xx final answer of the new call (it rejects on a failed one). Default
   * `accepted`.
   */
  waitFor?: 'accepted' | 'completed';
  /** Longest wait for the NOTIFY of the outcome, ms (`waitFor: 'completed'`). Default 60 000. */
  timeoutMs?: number;
};

/** How long a transfer waits for the NOTIFY reporting its outcome by default, ms. */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 60_000;
/** Longest header value a REFER carries; longer ones are cut (a UDP datagram has room for ~1300 bytes). */
export const MAX_REFER_HEADER_VALUE = 256;
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** A header value safe to put on one line: no control characters, trimmed, bounded. */
export function headerValue(value: string, max = MAX_REFER_HEADER_VALUE): string {
  // eslint-disable-next-line no-control-regex
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max) : flat;
}

function checkedHeaders(headers: Record<string, string> | undefined, what: string): Array<[string, string]> {
  if (headers === undefined) return [];
  if (typeof headers !== 'object' || headers === null)
    throw new ConfigError(`${what} must be an object of header fields.`);
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new ConfigError(`${what}: ${JSON.stringify(name)} is not a header field name.`);
    if (typeof value !== 'string') throw new ConfigError(`${what}: the value of ${name} must be a string.`);
    out.push([name, headerValue(value)]);
  }
  return out;
}

/** `target` with `headers` in its header part (`?a=b&c=d`), each name and value escaped. */
export function withUriHeaders(target: string, headers: Array<[string, string]>): string {
  if (headers.length === 0 || /^tel:/i.test(target)) return target;
  const query = headers.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return `${target}${target.includes('?') ? '&' : '?'}${query}`;
}

/** The REFER's header fields beyond the dialog's own; throws ConfigError for a bad target or option. */
export function referHeaders(target: string, options: SipReferOptions, localUri: string): Array<[string, string]> {
  if (typeof target !== 'string' || !/^(sips?|tel):[^\s<>]+$/i.test(target))
    throw new ConfigError(`The transfer target must be a sip:, sips: or tel: URI, got ${JSON.stringify(target)}.`);
  if (options.referredBy !== undefined && !/^(sips?|tel):[^\s<>]+$/i.test(options.referredBy))
    throw new ConfigError(
      `\`referredBy\` must be a sip:, sips: or tel: URI, got ${JSON.stringify(options.referredBy)}.`,
    );
  if (options.waitFor !== undefined && options.waitFor !== 'accepted' && options.waitFor !== 'completed')
    throw new ConfigError(`\`waitFor\` must be 'accepted' or 'completed', got ${JSON.stringify(options.waitFor)}.`);
  const uri = withUriHeaders(target, checkedHeaders(options.uriHeaders, '`uriHeaders`'));
  return [
    ['Refer-To', `<${uri}>`],
    ['Referred-By', `<${options.referredBy ?? localUri}>`],
    ...checkedHeaders(options.headers, '`headers`'),
  ];
}

/** The outcome of a transfer, followed from its NOTIFYs. */
export type TransferOutcome = { promise: Promise<SipTransferProgress>; cancel(): void };

/**
 * Follows the call's `transfer` events (listening before the REFER goes, since its first NOTIFY
 * may overtake the 202) until a final one: resolves on a 2xx, rejects with a CallControlError on
 * any other final status, when the call ends first, or after `timeoutMs`.
 */
export function followTransfer(call: SipCall, timeoutMs: number): TransferOutcome {
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 2_147_483_647))
    throw new ConfigError(`\`timeoutMs\` must be a positive number of ms, got ${String(timeoutMs)}.`);
  let cancel = () => undefined as void;
  const promise = new Promise<SipTransferProgress>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      call.off('transfer', onProgress);
      call.off('ended', onEnded);
    };
    const onProgress = (progress: SipTransferProgress) => {
      if (!progress.final) return;
      done();
      if (progress.status >= 200 && progress.status < 300) resolve(progress);
      else
        reject(
          new CallControlError(`The transfer failed: ${progress.status} ${progress.reason}`.trim(), {
            status: progress.status,
          }),
        );
    };
    const onEnded = (event: { reason: SipCallEndReason }) => {
      done();
      reject(new CallControlError(`The call ended (${event.reason}) before the transfer reported its outcome.`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new CallControlError(`No NOTIFY reported the transfer's outcome within ${timeoutMs} ms.`));
    }, timeoutMs);
    call.on('transfer', onProgress);
    call.on('ended', onEnded);
    cancel = done;
  });
  // A caller that stops waiting (the REFER itself failed) must not see an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, cancel };
}
