export * from './types.js';
export * from './errors.js';
export * from './connection.js';
export * from './audio/index.js';
export * from './codec.js';
export * from './ledger.js';
export * from './metrics.js';
export * from './transport.js';
export { logger } from './log.js';
