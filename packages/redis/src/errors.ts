import { SwitchboardError } from '@switchboard/core';

/**
 * A Redis command of a store that failed: Redis answered an error, the connection was lost or
 * closed, no answer came within the store's `timeoutMs`, or the answer was not what the command
 * returns. `operation` names the store and the method (`RedisNonceStore.remember`); the error
 * from the client, when there is one, is the `cause`. Keys are never part of the message.
 */
export class RedisStoreError extends SwitchboardError {
  /** The store's method that failed, e.g. `RedisPrewarmRegistry.take`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super('redis_store_error', `${operation}: ${message}`, options);
    this.operation = operation;
  }
}
