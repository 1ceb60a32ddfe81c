export {
  PENDING_DEFAULT_MAX_HELD_FRAMES,
  PendingMediaConnection,
  type PendingMediaConnectionOptions,
} from './pending-connection.js';
export {
  PREWARM_CREATE_TIMEOUT_REASON,
  PREWARM_DEFAULTS,
  PREWARM_UNCLAIMED_REASON,
  PrewarmPool,
  type PrewarmAcceptResult,
  type PrewarmedCall,
  type PrewarmErrorContext,
  type PrewarmPoolOptions,
  type PrewarmStats,
} from './pool.js';
export {
  MemoryPrewarmRegistry,
  type MemoryPrewarmRegistryOptions,
  type PrewarmOwner,
  type PrewarmRegistry,
} from './registry.js';
