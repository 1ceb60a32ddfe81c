export * from './parts.js';
export * from './transport.js';
