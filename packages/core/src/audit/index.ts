export * from './local-target.js';
export * from './policy.js';
export * from './sbom.js';
export * from './sign.js';
export * from './verify.js';
