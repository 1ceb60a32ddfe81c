export * from './openai/index.js';
export * from './endpoint/index.js';
