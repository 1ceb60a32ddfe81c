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

/** A `debug` logger under the `switchboard:` namespace. Never pass audio or secrets to it. */
export function logger(name: string): Logger {
  return createDebug(`switchboard:${name}`);
}
