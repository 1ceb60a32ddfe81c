/**
 * What the carriers' realtime transports share: their options' base and how they take the carrier socket out of them.
 */
import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import { ConfigError } from './errors.js';
import type { TelephonyRealtimeTransportOptions } from './transport.js';

/**
 * The options every carrier transport takes: the Agents SDK WebSocket transport's plus the core's
 * call options. The carrier adds its socket (and any protocol options); the connection and the
 * protocol come from the carrier, so they are not among them.
 */
export type CarrierTransportOptions = OpenAIRealtimeWebSocketOptions &
  Omit<TelephonyRealtimeTransportOptions, 'connection' | 'protocol' | keyof OpenAIRealtimeWebSocketOptions>;

/**
 * Splits a carrier transport's options into the carrier socket, found under `key`
 * (`twilioWebSocket`, `plivoWebSocket`, ...), and the rest. Throws a `ConfigError` saying
 * `missing` when the options are not an object or hold no socket.
 */
export function takeCarrierSocket<O extends object, K extends keyof O>(
  options: O,
  key: K,
  missing: string,
): { socket: O[K]; rest: Omit<O, K> } {
  if (!options || typeof options !== 'object' || !options[key]) throw new ConfigError(missing);
  const { [key]: socket, ...rest } = options;
  return { socket, rest };
}
