export * from './artifact.js';
export * from './local.js';
