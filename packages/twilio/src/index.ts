export * from './parts.js';
export * from './transport.js';
export * from './conformance.js';
