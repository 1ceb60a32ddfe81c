export * from './simulator/index.js';
export * from './trace.js';
export * from './caller.js';
export * from './malformed.js';
export * from './replay.js';
export * from './checks.js';
export * from './run.js';
export * from './turn-detection.js';
