/**
 * The URL forms a webhook signature may have been computed over, for the property tests that hold
 * our verifiers to what the Twilio and SignalWire libraries accept: the URL as received, its WHATWG
 * form, that form with the query re-encoded by node:querystring (the libraries' last candidate),
 * or another generated URL altogether.
 */
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import fc from 'fast-check';

/** The URL with its query re-encoded by node:querystring. */
export function legacyQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 || q === url.length - 1 ? url : `${url.slice(0, q)}?${stringifyQuery(parseQuery(url.slice(q + 1)))}`;
}

export type UrlForm = 'as-received' | 'whatwg' | 'legacy' | 'other';

export const urlForms: fc.Arbitrary<UrlForm> = fc.constantFrom('as-received', 'whatwg', 'legacy', 'other');

/**
 * The URL a signature was computed over, in `form`, for a request received at `url` (`other` for
 * the form `other`); undefined when `url` is no URL a request arrives at.
 */
export function signedUrl(url: string, other: string, form: UrlForm): string | undefined {
  try {
    const whatwg = new URL(url).href;
    return form === 'as-received' ? url : form === 'whatwg' ? whatwg : form === 'legacy' ? legacyQuery(whatwg) : other;
  } catch {
    return undefined;
  }
}

/** https:// URLs as received: a host, a port, a path, and a query of `queryChars` (or none). */
export function receivedUrls(parts: {
  hosts: string[];
  ports: string[];
  paths: string[];
  queryChars: string[];
  maxQueryLength: number;
}): fc.Arbitrary<string> {
  const queryText = fc
    .array(fc.constantFrom(...parts.queryChars), { maxLength: parts.maxQueryLength })
    .map((chars) => chars.join(''));
  return fc
    .tuple(
      fc.constantFrom(...parts.hosts),
      fc.constantFrom(...parts.ports),
      fc.constantFrom(...parts.paths),
      fc.option(queryText, { nil: undefined }),
    )
    .map(([h, p, pa, q]) => `https://${h}${p}${pa}${q === undefined ? '' : `?${q}`}`);
}
