/**
 * The pre-warm registry on Redis: the instance whose webhook warmed a call is found by the
 * instance its media stream reaches.
 */
import { ConfigError, type PrewarmOwner, type PrewarmRegistry } from '@switchboard/core';
import { RedisStoreError } from './errors.js';
import {
  isKey,
  pxOf,
  redisKey,
  runCommand,
  storeSettings,
  textOf,
  type RedisStoreOptions,
  type StoreSettings,
} from './client.js';

/** Longest owner id or URL accepted, in characters. */
const MAX_OWNER_FIELD = 2048;

/**
 * A `PrewarmRegistry` (from `@switchboard/core`) on Redis, for the `registry` option of
 * `PrewarmPool` on several instances. `register` is `SET <prefix>prewarm:<callId> <owner> PX <ttlMs>`
 * (the owner as JSON); `take` is `GETDEL` (Redis 6.2 or newer), atomic: of concurrent takes of one
 * call id, on any instances, at most one gets the owner, and the entry is gone after it.
 *
 * When Redis fails each call rejects with a `RedisStoreError`. A `take` given up on after
 * `timeoutMs` may still remove the entry once Redis answers: the stream then runs its call as if
 * nothing had been warmed, and the owner ends its warmed call when no stream claims it.
 */
export class RedisPrewarmRegistry implements PrewarmRegistry {
  readonly #settings: StoreSettings;

  constructor(options: RedisStoreOptions) {
    this.#settings = storeSettings('RedisPrewarmRegistry', options);
  }

  /** Records `owner` as the instance holding `callId`, for `ttlMs`; a later register replaces it. */
  async register(callId: string, owner: PrewarmOwner, ttlMs: number): Promise<void> {
    const operation = 'RedisPrewarmRegistry.register';
    if (!isKey(callId)) throw new ConfigError(`${operation}: the call id must be a non-empty string`);
    if (!isOwner(owner)) throw new ConfigError(`${operation}: the owner must be { id, url }, two non-empty strings`);
    const px = pxOf(operation, ttlMs);
    const settings = this.#settings;
    const stored = await redisKey(settings, 'prewarm', callId);
    const value = JSON.stringify({ id: owner.id, url: owner.url });
    const answer = await runCommand(settings, operation, () =>
      settings.client.set(stored, value, { expiration: { type: 'PX', value: px } }),
    );
    if (textOf(answer) !== 'OK') throw new RedisStoreError(operation, 'unexpected answer to SET');
  }

  /** The owner of `callId`, removed in the same step; `undefined` when none is recorded (or it expired). */
  async take(callId: string): Promise<PrewarmOwner | undefined> {
    const operation = 'RedisPrewarmRegistry.take';
    if (!isKey(callId)) return undefined;
    const settings = this.#settings;
    const stored = await redisKey(settings, 'prewarm', callId);
    const answer = await runCommand(settings, operation, () => settings.client.getDel(stored));
    if (answer === null) return undefined;
    const text = textOf(answer);
    let owner: unknown;
    try {
      owner = text === undefined ? undefined : JSON.parse(text);
    } catch {
      owner = undefined;
    }
    if (!isOwner(owner))
      throw new RedisStoreError(operation, 'the value stored for the call is not an owner ({ id, url } as JSON)');
    return { id: owner.id, url: owner.url };
  }
}

function isOwner(value: unknown): value is PrewarmOwner {
  if (typeof value !== 'object' || value === null) return false;
  const { id, url } = value as Record<string, unknown>;
  return isKey(id) && isKey(url) && id.length <= MAX_OWNER_FIELD && url.length <= MAX_OWNER_FIELD;
}
