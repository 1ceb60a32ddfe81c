import createDebug from 'debug';

/**
 * Turns on Switchboard's `debug` logging inside a Worker, where there is no `DEBUG` environment
 * variable: pass a namespace list such as `switchboard:*` (for example from a `DEBUG` var in
 * wrangler.toml). Lines go to the Worker's console (`wrangler dev`, `wrangler tail`). Audio and
 * keys are never logged. With no argument, `switchboard:*`; an empty or undefined value (an unset
 * var) changes nothing.
 */
export function enableLogging(...args: [namespaces?: string]): void {
  // Only a call without an argument means "everything": `enableLogging(env.DEBUG)` with no DEBUG
  // var must not switch logging on.
  const namespaces = args.length === 0 ? 'switchboard:*' : args[0];
  if (namespaces) createDebug.enable(namespaces);
}
