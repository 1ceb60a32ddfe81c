import createDebug from 'debug';

/** A `debug` logger under the `switchboard:` namespace. Never pass audio or secrets to it. */
export function logger(name: string): createDebug.Debugger {
  return createDebug(`switchboard:${name}`);
}
