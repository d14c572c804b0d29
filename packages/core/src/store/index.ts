export * from './paths.js';
export * from './atomic.js';
export * from './lock.js';
export * from './blob-reader.js';
export * from './local-store.js';
