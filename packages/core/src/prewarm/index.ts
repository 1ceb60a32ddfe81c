export {
  PENDING_DEFAULT_MAX_HELD_FRAMES,
  PendingMediaConnection,
  type PendingMediaConnectionOptions,
} from './pending-connection.js';
export { PREWARM_CREATE_TIMEOUT_REASON, PREWARM_DEFAULTS, PREWARM_UNCLAIMED_REASON, PrewarmPool } from './pool.js';
export type {
  PrewarmAcceptResult,
  PrewarmedCall,
  PrewarmErrorContext,
  PrewarmPoolOptions,
  PrewarmStats,
} from './types.js';
export {
  MemoryPrewarmRegistry,
  type MemoryPrewarmRegistryOptions,
  type PrewarmOwner,
  type PrewarmRegistry,
} from './registry.js';
