/**
 * What a carrier transport's constructor does with its options before it builds its protocol: take
 * out the protocol's own options, and turn a call-control client into the `hangUp` option.
 */
import type { CarrierTransportOptions } from './carrier-transport.js';
import { ConfigError } from './errors.js';

/**
 * Splits `options` into the options under `keys` that are defined (`picked`, for the carrier's
 * protocol: an option left `undefined` is absent there, so the protocol's default applies) and all
 * the others (`rest`, for the transport).
 */
export function splitOptions<O extends object, K extends keyof O>(
  options: O,
  keys: readonly K[],
): { picked: Pick<O, K>; rest: Omit<O, K> } {
  const picked = {} as Pick<O, K>;
  const rest: Partial<O> = { ...options };
  for (const key of keys) {
    const value = options[key];
    delete rest[key];
    if (value !== undefined) picked[key] = value;
  }
  return { picked, rest: rest as Omit<O, K> };
}

/**
 * Returns the transport's options with `hangUp` calling `control[method](callId)` (the call's
 * `callStart.callId`; no call id, no request), unless they already have a `hangUp`: the caller's
 * own wins. Without a `control` they are returned as they are. With `invalid`, a `control` that
 * has no function `method` is a `ConfigError` saying `invalid`, whether or not `hangUp` is given.
 */
export function withCallControlHangUp<
  O extends Pick<CarrierTransportOptions, 'hangUp'>,
  M extends PropertyKey,
  C extends { [P in M]: (callId: string) => unknown },
>(options: O, control: C | undefined, method: M, invalid?: string): O {
  if (control === undefined) return options;
  if (invalid !== undefined && typeof (control as Partial<C> | null)?.[method] !== 'function') {
    throw new ConfigError(invalid);
  }
  if (options.hangUp !== undefined) return options;
  return { ...options, hangUp: async ({ callId }) => (callId === undefined ? undefined : control[method](callId)) };
}
