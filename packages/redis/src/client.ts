/**
 * What the stores share: the client they are given, their key scheme, and the way each command
 * is run (bounded in time, its failures turned into a {@link RedisStoreError}).
 */
import { ConfigError, REPLAY_MAX_KEY_LENGTH } from '@switchboard/core';
import { describeError } from '@switchboard/core/protocol';
import { RedisStoreError } from './errors.js';

/**
 * The commands the stores send, as node-redis v5 and v6 spell them: a client from `createClient()` of
 * `redis` (connected by the application, which also closes it), or a cluster client from
 * `createCluster()`. The stores never connect, quit or close it.
 */
export interface RedisStoreClient {
  /** `SET key value PX <ms> [NX]`: `'OK'` when set, `null` when `NX` found the key. */
  set(
    key: string,
    value: string,
    options: { expiration: { type: 'PX'; value: number }; condition?: 'NX' },
  ): Promise<unknown>;
  /** `GETDEL key` (Redis 6.2 or newer): the value, or `null`. */
  getDel(key: string): Promise<unknown>;
  /** `DEL key`: how many keys were removed. */
  del(key: string): Promise<unknown>;
}

/** Options every store takes. */
export type RedisStoreOptions = {
  /** A node-redis v5 or v6 client, connected (or connecting) by the application. */
  client: RedisStoreClient;
  /**
   * Prepended to every key, before the store's own part (`nonce:`, `sip-dedup:`, `prewarm:`).
   * Give the instances of one application the same prefix, and other applications on the same
   * Redis another one. Default `switchboard:`.
   */
  prefix?: string;
  /**
   * How long a command may take, in ms, before the store gives up with a {@link RedisStoreError}.
   * node-redis queues commands while it reconnects, so without a bound a lost Redis would hold a
   * webhook's answer until it came back. Default 5 000.
   */
  timeoutMs?: number;
};

/** Default key prefix: `switchboard:`. */
export const REDIS_DEFAULT_PREFIX = 'switchboard:';
/** Default bound on one command: 5 s. */
export const REDIS_DEFAULT_TIMEOUT_MS = 5_000;
/** Longest prefix accepted, in characters. */
const MAX_PREFIX_LENGTH = 256;

/** A store's validated settings. */
export type StoreSettings = { client: RedisStoreClient; prefix: string; timeoutMs: number };

/** Checks the options of store `name`; a `ConfigError` naming the option otherwise. */
export function storeSettings(name: string, options: unknown): StoreSettings {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError(`${name}: options must be an object with a \`client\``);
  const {
    client,
    prefix = REDIS_DEFAULT_PREFIX,
    timeoutMs = REDIS_DEFAULT_TIMEOUT_MS,
  } = options as Record<string, unknown>;
  if (typeof client !== 'object' || client === null)
    throw new ConfigError(`${name}: \`client\` must be a node-redis client (createClient() from 'redis')`);
  for (const method of ['set', 'getDel', 'del']) {
    if (typeof (client as Record<string, unknown>)[method] !== 'function')
      throw new ConfigError(`${name}: \`client\` has no ${method}() method: pass a node-redis v5 or v6 client`);
  }
  if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX_LENGTH)
    throw new ConfigError(`${name}: \`prefix\` must be a string of at most ${MAX_PREFIX_LENGTH} characters`);
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new ConfigError(`${name}: \`timeoutMs\` must be a positive number`);
  return { client: client as RedisStoreClient, prefix, timeoutMs };
}

/** A TTL for `PX`: a positive finite number of ms, rounded up to a whole ms; a `ConfigError` otherwise. */
export function pxOf(operation: string, ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new ConfigError(`${operation}: the TTL must be a positive number of ms`);
  return Math.ceil(ttlMs);
}

/** True for a key a store can hold: a non-empty string. */
export const isKey = (key: unknown): key is string => typeof key === 'string' && key.length > 0;

const encoder = new TextEncoder();

/**
 * The Redis key for `key` of kind `kind`: `<prefix><kind>:<key>`. Keys come from the network (a
 * call id in a stream's first frame, a webhook's id), so one longer than
 * `REPLAY_MAX_KEY_LENGTH` characters is stored as its SHA-256 (`sha256:` and 64 hex digits).
 */
export async function redisKey(settings: StoreSettings, kind: string, key: string): Promise<string> {
  if (key.length <= REPLAY_MAX_KEY_LENGTH) return `${settings.prefix}${kind}:${key}`;
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(key)));
  let hex = 'sha256:';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return `${settings.prefix}${kind}:${hex}`;
}

/**
 * Runs one command: its answer, or a {@link RedisStoreError} when it throws, rejects or does not
 * answer within `timeoutMs`. A command given up on may still run later (node-redis sends what it
 * queued once it reconnects): `late` then sees its answer, so the store can undo it.
 */
export function runCommand<T>(
  settings: StoreSettings,
  operation: string,
  command: () => Promise<T>,
  late?: (answer: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(command());
    } catch (error) {
      reject(new RedisStoreError(operation, describeError(error), { cause: error }));
      return;
    }
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new RedisStoreError(operation, `no answer from Redis within ${settings.timeoutMs} ms`));
    }, settings.timeoutMs);
    pending.then(
      (answer) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(answer);
          return;
        }
        try {
          late?.(answer);
        } catch {
          // Undoing a late command is best effort.
        }
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new RedisStoreError(operation, describeError(error), { cause: error }));
      },
    );
  });
}

/** `SET ... NX` answered: `true` for `OK`, `false` for `null`; a `RedisStoreError` for anything else. */
export function setNxAnswer(operation: string, answer: unknown): boolean {
  if (answer === null) return false;
  if (textOf(answer) === 'OK') return true;
  throw new RedisStoreError(operation, `unexpected answer to SET NX: ${describeError(answer, 40)}`);
}

/** A string answer as text (node-redis hands out a Buffer when a type mapping says so). */
export function textOf(answer: unknown): string | undefined {
  if (typeof answer === 'string') return answer;
  if (answer instanceof Uint8Array) return new TextDecoder().decode(answer);
  return undefined;
}

/** Deletes `key` after a command given up on turned out to have set it; errors are ignored. */
export function undoLateSet(settings: StoreSettings, key: string): (answer: unknown) => void {
  return (answer) => {
    if (textOf(answer) !== 'OK') return;
    Promise.resolve()
      .then(() => settings.client.del(key))
      .catch(() => {});
  };
}

/**
 * `SET <prefix><kind>:<key> 1 NX PX <px>`: `true` when no instance held the key. An empty key is
 * never new. A set given up on (timed out) that lands after all is deleted again: the caller was
 * told it failed, so the sender's retry must be taken as new.
 */
export async function claimOnce(
  settings: StoreSettings,
  operation: string,
  kind: string,
  key: string,
  px: number,
): Promise<boolean> {
  if (!isKey(key)) return false;
  const stored = await redisKey(settings, kind, key);
  const answer = await runCommand(
    settings,
    operation,
    () => settings.client.set(stored, '1', { expiration: { type: 'PX', value: px }, condition: 'NX' }),
    undoLateSet(settings, stored),
  );
  return setNxAnswer(operation, answer);
}

/** `DEL <prefix><kind>:<key>`; an empty key is never stored, so nothing to do. */
export async function forgetKey(settings: StoreSettings, operation: string, kind: string, key: string): Promise<void> {
  if (!isKey(key)) return;
  const stored = await redisKey(settings, kind, key);
  await runCommand(settings, operation, () => settings.client.del(stored));
}
