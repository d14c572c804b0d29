// The Kubernetes backend of `kit run` (spec/kubernetes.md).
export * from './layout.js';
export * from './manifests.js';
export * from './client.js';
export * from './dry-run.js';
export * from './pod-status.js';
export * from './pod-steps.js';
export * from './pod-credentials.js';
export * from './submit.js';
export { followContainerLog, parseStamp } from './log-follower.js';
export { trainCommand, parseTrainEnd } from './train-script.js';
