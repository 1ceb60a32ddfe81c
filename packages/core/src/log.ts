import createDebug from 'debug';

/**
 * A logger of one `switchboard:<name>` namespace, printed when the `DEBUG` environment variable
 * enables it (`DEBUG=switchboard:*`). Call it with a printf-style message (`%s`, `%d`, `%o`) and
 * its arguments. Our own type rather than `debug`'s, so that the published types need nothing
 * from `@types/debug`.
 */
export interface Logger {
  (message: string, ...args: unknown[]): void;
  /** Whether the namespace is enabled: skip building an expensive message when it is not. */
  readonly enabled: boolean;
  /** `switchboard:<name>`. */
  readonly namespace: string;
}

/**
 * A `debug` logger under the `switchboard:` namespace.
 *
 * What may be logged about a call (the rule every package follows; CONTRIBUTING.md repeats it):
 *
 * - Yes, at debug level: call ids, stream ids, SIP Call-IDs, response and item ids; peer network
 *   addresses and ports; codecs, sample rates, sizes, counts, durations, status codes; our own
 *   error messages and codes.
 *
 * - Never, at any level: phone numbers and SIP user parts (`from`, `to`, Request-URIs,
 *   From/To/Contact headers), custom parameters, audio bytes or their base64, transcripts and
 *   model text, secrets (API keys, auth tokens, signatures, JWTs, passwords, URLs that carry any
 *   of them), and request or frame bodies, whole or in excerpts.
 *
 * Where a message would carry a peer's text (a malformed header, a URI), log what kind of thing
 * was wrong, not the text. Applications that want more attach their own listeners to the
 * transport's events, where they decide what to keep.
 */
export function logger(name: string): Logger {
  return createDebug(`switchboard:${name}`);
}
