export * from './errors.js';
export * from './transport.js';
export * from './repository.js';
export * from './copy.js';
export * from './concurrency.js';
export * from './reference.js';
export * from './auth/index.js';
export * from './client.js';

export * from './upload-journal.js';
export * from './referrers.js';
