import createDebug from 'debug';

/**
 * Turns on Switchboard's `debug` logging inside a Worker, where there is no `DEBUG` environment
 * variable: pass a namespace list such as `switchboard:*` (for example from a `DEBUG` var in
 * wrangler.toml). Lines go to the Worker's console (`wrangler dev`, `wrangler tail`). Audio and
 * keys are never logged. An empty or missing value changes nothing.
 */
export function enableLogging(namespaces: string | undefined = 'switchboard:*'): void {
  if (namespaces) createDebug.enable(namespaces);
}
