export * from './paths.js';
export * from './atomic.js';
export * from './lock.js';
export * from './hash-to-file.js';
export * from './local-store.js';
