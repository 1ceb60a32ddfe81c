import { AssertionError } from 'node:assert';
import { ProtocolError, type MediaFrame } from '@switchboard/core';

/** What a `ProtocolError` must carry. Every field is optional; what is given is checked. */
export interface ProtocolErrorExpectation {
  /** `error.provider`; the message must then also begin with `[provider] `. */
  provider?: string;
  /** `error.code` (`'protocol_error'` unless the protocol gives a more specific one). */
  code?: string;
  /** Text that must appear neither in the message nor in `frameExcerpt` (an audio payload, a token). */
  secrets?: string | readonly string[];
}

function fail(message: string, actual?: unknown, expected?: unknown): never {
  throw new AssertionError({ message, actual, expected, operator: 'expectProtocolError' });
}

/**
 * Calls `fn` and asserts that it throws a `ProtocolError` (of `@switchboard/core`) matching
 * `expected`; returns the error for further checks. Fails when `fn` returns normally or throws
 * anything else. Test-framework agnostic: a failure is a `node:assert` `AssertionError`.
 */
export function expectProtocolError(fn: () => unknown, expected: ProtocolErrorExpectation = {}): ProtocolError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) fail('expected a ProtocolError, but nothing was thrown');
  if (!(thrown instanceof ProtocolError)) {
    const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    fail(`expected a ProtocolError, got ${what}`, thrown);
  }
  const error = thrown;
  if (expected.provider !== undefined) {
    if (error.provider !== expected.provider)
      fail(`expected provider ${expected.provider}, got ${error.provider}`, error.provider, expected.provider);
    if (!error.message.startsWith(`[${expected.provider}] `))
      fail(`expected the message to begin with [${expected.provider}]: ${error.message}`);
  }
  if (expected.code !== undefined && error.code !== expected.code)
    fail(`expected code ${expected.code}, got ${error.code} (${error.message})`, error.code, expected.code);
  const secrets = typeof expected.secrets === 'string' ? [expected.secrets] : (expected.secrets ?? []);
  for (const secret of secrets) {
    if (secret === '') continue;
    if (error.message.includes(secret)) fail(`the message carries text it must not: ${error.message}`);
    if ((error.frameExcerpt ?? '').includes(secret))
      fail(`the frame excerpt carries text it must not: ${error.frameExcerpt}`);
  }
  return error;
}

/** A row of a bad-input table: a name for the test, the frame, and the expected code if not `'protocol_error'`. */
export type MalformedFrame = readonly [name: string, frame: MediaFrame, code?: string];

export interface MalformedFrameCasesOptions {
  /** Decodes one frame, typically with a fresh protocol that has seen the call's start. */
  decode: (frame: MediaFrame) => unknown;
  /** The protocol's provider name, checked on every error. */
  provider: string;
  frames: readonly MalformedFrame[];
  /** Text no error may carry in its message or excerpt. */
  secrets?: string | readonly string[];
}

/**
 * One case per row of a bad-input table, for `it.each` (or any loop): each asserts that decoding
 * the frame throws a `ProtocolError` of the provider, with the row's code (`'protocol_error'` when
 * the row gives none), and nothing else.
 *
 * ```ts
 * const cases = malformedFrameCases({ provider: 'acme', frames, decode: (f) => started().decode(f) });
 * it.each(cases)('throws a ProtocolError for %s', (_name, check) => {
 *   check();
 * });
 * ```
 */
export function malformedFrameCases(
  options: MalformedFrameCasesOptions,
): Array<[name: string, check: () => ProtocolError]> {
  return options.frames.map(([name, frame, code]) => [
    name,
    () =>
      expectProtocolError(() => options.decode(frame), {
        provider: options.provider,
        code: code ?? 'protocol_error',
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      }),
  ]);
}
