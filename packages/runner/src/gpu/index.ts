export * from './nvidia-smi.js';
export * from './select.js';
export * from './locks.js';
export * from './env.js';
